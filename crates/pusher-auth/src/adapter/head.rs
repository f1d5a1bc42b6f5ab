//! What adapters of non-tower frameworks share: the request head as `http` types, and Laravel
//! Echo's `X-Socket-ID`.

use pusher_protocol::SocketId;

use super::Answer;
use crate::authorizer::RequestHead;

/// The header Laravel Echo adds to the app's own requests (axios, fetch interceptors): the
/// sender's socket id, to exclude when publishing (Laravel's `toOthers()`).
pub const SOCKET_ID_HEADER: &str = "x-socket-id";

/// A framework's request head as `http::request::Parts` (method, URI, version, headers, no
/// extensions); `None` when one of them does not convert.
///
/// ```
/// use pusher_auth::adapter::request_head;
///
/// let head = request_head("POST", "/pusher/auth?x=1", http::Version::HTTP_11, [("cookie", &b"id=1"[..])]).unwrap();
/// assert_eq!(head.method, http::Method::POST);
/// assert_eq!(head.headers["cookie"], "id=1");
/// assert!(request_head("PO ST", "/", http::Version::HTTP_11, []).is_none());
/// ```
pub fn request_head<'a>(
    method: &str,
    uri: &str,
    version: http::Version,
    headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Option<RequestHead> {
    let mut builder = http::Request::builder()
        .method(method)
        .uri(uri)
        .version(version);
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    builder.body(()).ok().map(|r| r.into_parts().0)
}

/// The sender's socket id from the value of [`SOCKET_ID_HEADER`]: `Ok(None)` when the header
/// is absent, the 400 [`Answer::invalid_sender_socket`] when it is not a socket id.
///
/// ```
/// use pusher_auth::adapter::sender_socket;
///
/// assert_eq!(sender_socket(None), Ok(None));
/// assert_eq!(sender_socket(Some(b"1.2")).unwrap().unwrap().as_str(), "1.2");
/// assert_eq!(sender_socket(Some(b"1.2:")).unwrap_err().status(), http::StatusCode::BAD_REQUEST);
/// ```
pub fn sender_socket(value: Option<&[u8]>) -> Result<Option<SocketId>, Answer> {
    match value {
        None => Ok(None),
        Some(value) => std::str::from_utf8(value)
            .ok()
            .and_then(|v| SocketId::new(v).ok())
            .map(Some)
            .ok_or_else(Answer::invalid_sender_socket),
    }
}
