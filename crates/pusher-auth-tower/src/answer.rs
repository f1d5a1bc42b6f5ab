//! Reading the body with a limit and handing the request to the shared endpoint logic.

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use pusher_auth::authorizer::{Authorizer, BoxError};
use pusher_auth::endpoint::{Answer, Endpoints, Route};

use crate::body::AnswerBody;

/// Answers one request for `route`.
pub(crate) async fn answer<A, B>(
    endpoints: &Endpoints<A>,
    route: Route,
    request: Request<B>,
) -> Response<AnswerBody>
where
    A: Authorizer,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let (head, body) = request.into_parts();
    let limit = endpoints.body_limit(route);
    let answer = match endpoints.precheck(route, &head) {
        Err(refusal) => refusal,
        Ok(checked) => match Limited::new(body, limit).collect().await {
            Ok(collected) => endpoints.answer(checked, head, &collected.to_bytes()).await,
            Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                Answer::payload_too_large(limit)
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
pub(crate) fn into_response(answer: Answer) -> Response<AnswerBody> {
    let mut response = Response::new(AnswerBody::default());
    *response.status_mut() = answer.status();
    response.headers_mut().extend(answer.headers());
    *response.body_mut() = AnswerBody::new(Bytes::from(answer.into_body()));
    response
}
