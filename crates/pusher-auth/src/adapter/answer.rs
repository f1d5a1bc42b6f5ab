//! [`Answer`]: a status and a JSON body, the same bytes under every adapter.

use http::header::{HeaderName, HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use http::StatusCode;

/// One answer of the endpoints: a status and a JSON body, with fixed headers. Its `Debug`
/// output shows the status, the error code and the body's length, not the body (which can hold
/// an encrypted channel's shared secret).
#[derive(Clone, PartialEq, Eq)]
pub struct Answer {
    status: StatusCode,
    code: Option<&'static str>,
    body: String,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("code", &self.code)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Answer {
    pub(crate) fn ok(body: String) -> Self {
        Answer {
            status: StatusCode::OK,
            code: None,
            body,
        }
    }

    /// A refusal: `{"error":{"code":"…","message":"…"}}`.
    pub(crate) fn refuse(status: StatusCode, code: &'static str, message: &str) -> Self {
        let mut body = String::with_capacity(48 + message.len());
        body.push_str("{\"error\":{\"code\":\"");
        body.push_str(code);
        body.push_str("\",\"message\":");
        body.push_str(&serde_json::to_string(message).unwrap_or_else(|_| String::from("\"\"")));
        body.push_str("}}");
        Answer {
            status,
            code: Some(code),
            body,
        }
    }

    pub(crate) fn forbidden() -> Self {
        Answer::refuse(StatusCode::FORBIDDEN, "forbidden", "not authorized")
    }

    pub(crate) fn internal(code: &'static str) -> Self {
        Answer::refuse(StatusCode::INTERNAL_SERVER_ERROR, code, "internal error")
    }

    pub(crate) fn method_not_allowed() -> Self {
        Answer::refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "use POST",
        )
    }

    /// 413 `payload_too_large`: the body is larger than `limit` bytes.
    pub fn payload_too_large(limit: usize) -> Self {
        Answer::refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            &format!("the body exceeds {limit} bytes"),
        )
    }

    /// 400 `body_read_error`: the body could not be read (the connection failed mid-body).
    pub fn body_read_error() -> Self {
        Answer::refuse(
            StatusCode::BAD_REQUEST,
            "body_read_error",
            "the body could not be read",
        )
    }

    /// 400 `invalid_request`: the request line or headers could not be read (an adapter
    /// could not convert them).
    pub fn invalid_request() -> Self {
        Answer::refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the request line or headers could not be read",
        )
    }

    /// 400 `invalid_socket_id`: Laravel Echo's `X-Socket-ID` header is not a socket id (see
    /// [`sender_socket`](super::sender_socket)).
    pub fn invalid_sender_socket() -> Self {
        Answer::refuse(
            StatusCode::BAD_REQUEST,
            "invalid_socket_id",
            "X-Socket-ID is not a socket id",
        )
    }

    /// 500 `misconfigured`: the app is set up so that the request cannot be answered (the
    /// adapter logs what to fix; the client is told nothing more).
    pub fn misconfigured() -> Self {
        Answer::internal("misconfigured")
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable error code of a refusal; `None` for a success.
    pub fn code(&self) -> Option<&'static str> {
        self.code
    }

    /// The JSON body.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The JSON body, by value.
    pub fn into_body(self) -> String {
        self.body
    }

    /// The headers to send: `Content-Type: application/json`, `Cache-Control: no-store`, and
    /// `Allow: POST` on a 405.
    pub fn headers(&self) -> impl Iterator<Item = (HeaderName, HeaderValue)> {
        let allow = (self.status == StatusCode::METHOD_NOT_ALLOWED)
            .then(|| (ALLOW, HeaderValue::from_static("POST")));
        [
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ]
        .into_iter()
        .chain(allow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_json_with_a_code_and_a_message() {
        let answer = Answer::refuse(StatusCode::BAD_REQUEST, "bad", "a \"quoted\" message");
        assert_eq!(
            answer.body(),
            r#"{"error":{"code":"bad","message":"a \"quoted\" message"}}"#
        );
        assert_eq!(answer.code(), Some("bad"));
        let names: Vec<_> = answer.headers().map(|(n, _)| n).collect();
        assert_eq!(names, [CONTENT_TYPE, CACHE_CONTROL]);
        let names: Vec<_> = Answer::method_not_allowed()
            .headers()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, [CONTENT_TYPE, CACHE_CONTROL, ALLOW]);
        assert_eq!(Answer::ok("{}".into()).code(), None);
    }
}
