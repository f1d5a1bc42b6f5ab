//! Reading the body with a limit and handing the request to the shared endpoint logic.

use bytes::{Buf, Bytes, BytesMut};
use http::{Request, Response};
use http_body::Body;
use http_body_util::BodyExt;
use pusher_auth::adapter::{self, Answer, Endpoint};
use pusher_auth::authorizer::BoxError;
use pusher_auth::Endpoints;

use crate::body::AnswerBody;

/// Answers one request for `endpoint`, with the user from the request extensions.
pub(crate) async fn answer<U, B>(
    endpoints: &Endpoints<U>,
    endpoint: Endpoint,
    request: Request<B>,
) -> Response<AnswerBody>
where
    U: Clone + Send + Sync + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let find_user = |head| async move {
        let user = adapter::user_from_extensions::<U>(&head);
        (head, user)
    };
    answer_with(endpoints, endpoint, request, find_user).await
}

/// Answers one request for `endpoint` of `endpoints` as the services do, finding the user with
/// `find_user` (see [`pusher_auth::adapter::answer`]): for adapters of tower-based frameworks
/// that find the user their own way, as `pusher-auth-axum` does with axum extractors. The body
/// is read with the endpoint's limit (413 beyond, whether or not a length was declared).
pub async fn answer_with<U, B, F, Fut>(
    endpoints: &Endpoints<U>,
    endpoint: Endpoint,
    request: Request<B>,
    find_user: F,
) -> Response<AnswerBody>
where
    U: Clone + Send + Sync + 'static,
    B: Body,
    B::Error: Into<BoxError>,
    F: FnOnce(http::request::Parts) -> Fut,
    Fut: std::future::Future<Output = (http::request::Parts, adapter::UserLookup<U>)>,
{
    let (head, body) = request.into_parts();
    let limit = adapter::body_limit(endpoints, endpoint);
    let answer = match adapter::precheck(endpoints, endpoint, &head) {
        Err(refusal) => refusal,
        Ok(checked) => match read(body, limit).await {
            Ok(body) => adapter::answer(endpoints, checked, head, &body, find_user).await,
            Err(Unread::TooLarge) => Answer::payload_too_large(limit),
            Err(Unread::Failed(e)) => {
                tracing::debug!(target: "pusher_auth", error = %e, "could not read the request body");
                Answer::body_read_error()
            }
        },
    };
    into_response(answer)
}

/// Why a body was not read.
enum Unread {
    /// More than the limit.
    TooLarge,
    /// The connection failed mid-body.
    Failed(BoxError),
}

/// Reads a whole body of at most `limit` bytes, whether or not its length was declared. A
/// body in one frame (the usual case) is taken without copying.
async fn read<B>(body: B, limit: usize) -> Result<Bytes, Unread>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let mut body = std::pin::pin!(body);
    let mut first: Option<Bytes> = None;
    let mut more: Option<BytesMut> = None;
    let mut len = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Unread::Failed(e.into()))?;
        let Ok(mut data) = frame.into_data() else {
            continue; // trailers
        };
        len = len.saturating_add(data.remaining());
        if len > limit {
            return Err(Unread::TooLarge);
        }
        let chunk = data.copy_to_bytes(data.remaining());
        match (&mut first, &mut more) {
            (None, _) => first = Some(chunk),
            (Some(head), None) => {
                let mut joined = BytesMut::with_capacity(len);
                joined.extend_from_slice(head);
                joined.extend_from_slice(&chunk);
                more = Some(joined);
            }
            (Some(_), Some(joined)) => joined.extend_from_slice(&chunk),
        }
    }
    Ok(match (more, first) {
        (Some(joined), _) => joined.freeze(),
        (None, Some(one)) => one,
        (None, None) => Bytes::new(),
    })
}

/// The HTTP response for an answer: its status, its fixed headers, and its body.
pub fn into_response(answer: Answer) -> Response<AnswerBody> {
    let status = answer.status();
    // Sized once: `HeaderMap::extend` would grow an empty map step by step.
    let mut headers = http::HeaderMap::with_capacity(4);
    for (name, value) in answer.headers() {
        headers.insert(name, value);
    }
    let mut response = Response::new(AnswerBody::new(Bytes::from(answer.into_body())));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}
