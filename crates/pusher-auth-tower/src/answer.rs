//! Reading the body with a limit and handing the request to the shared endpoint logic.

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use pusher_auth::authorizer::{Authorizer, BoxError};
use pusher_auth::endpoint::{Answer, Endpoints, Route};

/// Answers one request for `route`.
pub(crate) async fn answer<A, B>(
    endpoints: &Endpoints<A>,
    route: Route,
    request: Request<B>,
) -> Response<Bytes>
where
    A: Authorizer,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let (head, body) = request.into_parts();
    let answer = match endpoints.precheck(route, &head) {
        Err(refusal) => refusal,
        Ok(checked) => match Limited::new(body, endpoints.body_limit()).collect().await {
            Ok(collected) => endpoints.answer(checked, head, &collected.to_bytes()).await,
            Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                Answer::payload_too_large(endpoints.body_limit())
            }
            Err(e) => {
                tracing::debug!(target: "pusher_auth", error = %e, "could not read the request body");
                Answer::body_read_error()
            }
        },
    };
    into_response(answer)
}

/// The HTTP response for an answer.
pub(crate) fn into_response(answer: Answer) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = answer.status();
    response.headers_mut().extend(answer.headers());
    *response.body_mut() = Bytes::from(answer.into_body());
    response
}
