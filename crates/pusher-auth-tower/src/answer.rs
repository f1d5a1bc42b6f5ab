//! Answering one request: read the body with a limit, parse, ask the authorizer, sign.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use pusher_auth::authorizer::{
    Authorizer, BoxError, ChannelDecision, ChannelRequest, RequestHead, UserDecision, UserRequest,
};
use pusher_auth::request::{
    parse_channel_request, parse_user_request, BatchOutcome, BatchResponse, BodyFormat, Channels,
};
use pusher_auth::{ChannelAuth, ChannelKind, ChannelName, SignError, SocketId};

use crate::respond::{json, Refusal};
use crate::Config;

/// Which of the layer's endpoints a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Channel,
    User,
    Webhook,
}

pub(crate) async fn answer<A, B>(
    config: Arc<Config<A>>,
    endpoint: Endpoint,
    request: Request<B>,
) -> Response<Full<Bytes>>
where
    A: Authorizer,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    match answer_inner(&config, endpoint, request).await {
        Ok(response) => response,
        Err(refusal) => refusal.into_response(),
    }
}

async fn answer_inner<A, B>(
    config: &Config<A>,
    endpoint: Endpoint,
    request: Request<B>,
) -> Result<Response<Full<Bytes>>, Refusal>
where
    A: Authorizer,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let (head, body) = request.into_parts();
    if head.method != Method::POST {
        return Err(Refusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "use POST",
        ));
    }
    let format = match endpoint {
        Endpoint::Webhook => None,
        _ => Some(body_format(&head)?),
    };
    let bytes = read_body(&head, body, config.body_limit).await?;
    match (endpoint, format) {
        (Endpoint::Webhook, _) => crate::webhook::answer(config, head, bytes).await,
        (Endpoint::Channel, Some(format)) => {
            let parsed = parse_channel_request(format, &bytes, &config.limits)
                .map_err(|e| bad_request(&e))?;
            channel(config, parsed, head).await
        }
        (_, Some(format)) => {
            let parsed =
                parse_user_request(format, &bytes, &config.limits).map_err(|e| bad_request(&e))?;
            user(config, parsed, head).await
        }
        (_, None) => Err(Refusal::internal("misconfigured")),
    }
}

fn bad_request(e: &pusher_auth::RequestError) -> Refusal {
    tracing::debug!(target: "pusher_auth", code = e.code(), error = %e, "bad auth request");
    Refusal::new(StatusCode::BAD_REQUEST, e.code(), e.to_string())
}

fn body_format(head: &RequestHead) -> Result<BodyFormat, Refusal> {
    head.headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(BodyFormat::from_content_type)
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send application/x-www-form-urlencoded or application/json",
            )
        })
}

async fn read_body<B>(head: &RequestHead, body: B, limit: usize) -> Result<Bytes, Refusal>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let too_large = || {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body exceeds {limit} bytes"),
        )
    };
    let declared = head
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(e) => {
            tracing::debug!(target: "pusher_auth", error = %e, "could not read the auth request body");
            Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "body_read_error",
                "the body could not be read",
            ))
        }
    }
}

/// One channel's fate.
enum Outcome {
    Authorized(ChannelAuth),
    Refused(Refusal),
}

async fn channel<A: Authorizer>(
    config: &Config<A>,
    parsed: pusher_auth::request::ChannelAuthRequest,
    head: RequestHead,
) -> Result<Response<Full<Bytes>>, Refusal> {
    let (socket_id, channels, params) = parsed.into_parts();
    let params = Arc::new(params);
    let head = Arc::new(head);
    match channels {
        Channels::One(channel) => match decide(config, &socket_id, channel, &params, &head).await {
            Outcome::Authorized(auth) => Ok(json(StatusCode::OK, auth.to_json())),
            Outcome::Refused(refusal) => Err(refusal),
        },
        Channels::Batch(entries) => {
            let mut answer = BatchResponse::default();
            for entry in entries {
                let outcome = match entry.channel() {
                    Ok(channel) => {
                        decide(config, &socket_id, channel.clone(), &params, &head).await
                    }
                    Err(e) => Outcome::Refused(Refusal::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_channel_name",
                        e.to_string(),
                    )),
                };
                let outcome = match outcome {
                    Outcome::Authorized(auth) => BatchOutcome::Authorized(auth),
                    Outcome::Refused(refusal) => BatchOutcome::Refused(refusal.status.as_u16()),
                };
                answer.push(entry.requested(), outcome);
            }
            Ok(json(StatusCode::OK, answer.to_json()))
        }
    }
}

async fn decide<A: Authorizer>(
    config: &Config<A>,
    socket_id: &SocketId,
    channel: ChannelName,
    params: &Arc<pusher_auth::request::Params>,
    head: &Arc<RequestHead>,
) -> Outcome {
    let kind = channel.kind();
    let log = |outcome: &'static str, reason: &str| {
        tracing::info!(target: "pusher_auth", socket_id = %socket_id, channel = %channel, kind = %kind, outcome, reason, "channel authorization");
    };
    if kind == ChannelKind::Public {
        log("refused", "public channels need no authorization");
        return Outcome::Refused(Refusal::new(
            StatusCode::BAD_REQUEST,
            "public_channel",
            "public channels need no authorization",
        ));
    }
    let request = ChannelRequest::new(
        socket_id.clone(),
        channel.clone(),
        Arc::clone(params),
        Arc::clone(head),
    );
    let decision = match config.authorizer.authorize_channel(request).await {
        Ok(decision) => decision,
        Err(e) => {
            let e: BoxError = e.into();
            tracing::error!(target: "pusher_auth", socket_id = %socket_id, channel = %channel, kind = %kind, outcome = "failed", error = %e, "channel authorizer failed");
            return Outcome::Refused(Refusal::internal("authorizer_error"));
        }
    };
    let signed = match decision {
        ChannelDecision::Allow if kind == ChannelKind::Presence => {
            tracing::error!(target: "pusher_auth", channel = %channel, "the authorizer allowed a presence channel without member data; return ChannelDecision::Member");
            return Outcome::Refused(Refusal::internal("misconfigured"));
        }
        ChannelDecision::Allow => config.credentials.authorize_channel(socket_id, &channel),
        ChannelDecision::Member(member) => config
            .credentials
            .authorize_member(socket_id, &channel, &member),
        ChannelDecision::SignedInMember => config
            .credentials
            .authorize_signed_in_member(socket_id, &channel),
        ChannelDecision::Deny(reason) => {
            log("denied", &reason);
            return Outcome::Refused(Refusal::forbidden());
        }
        ChannelDecision::Pass => {
            log("denied", "no authorizer decided");
            return Outcome::Refused(Refusal::forbidden());
        }
        _ => {
            log("denied", "unknown decision");
            return Outcome::Refused(Refusal::forbidden());
        }
    };
    match signed {
        Ok(auth) => {
            tracing::debug!(target: "pusher_auth", socket_id = %socket_id, channel = %channel, kind = %kind, outcome = "allowed", "channel authorization");
            Outcome::Authorized(auth)
        }
        Err(e) => Outcome::Refused(misconfigured(&e)),
    }
}

fn misconfigured(e: &SignError) -> Refusal {
    tracing::error!(target: "pusher_auth", error = %e, "the answer could not be signed");
    Refusal::internal("misconfigured")
}

async fn user<A: Authorizer>(
    config: &Config<A>,
    parsed: pusher_auth::request::UserAuthRequest,
    head: RequestHead,
) -> Result<Response<Full<Bytes>>, Refusal> {
    let (socket_id, params) = parsed.into_parts();
    let request = UserRequest::new(socket_id.clone(), Arc::new(params), Arc::new(head));
    match config.authorizer.authenticate_user(request).await {
        Ok(UserDecision::SignIn(user)) => {
            let auth = config
                .credentials
                .sign_in(&socket_id, &user)
                .map_err(|e| misconfigured(&e))?;
            tracing::debug!(target: "pusher_auth", socket_id = %socket_id, user_id = %user.id(), outcome = "signed_in", "user sign-in");
            Ok(json(StatusCode::OK, auth.to_json()))
        }
        Ok(UserDecision::Deny(reason)) => {
            tracing::info!(target: "pusher_auth", socket_id = %socket_id, outcome = "denied", reason = %reason, "user sign-in");
            Err(Refusal::forbidden())
        }
        Ok(_) => Err(Refusal::forbidden()),
        Err(e) => {
            let e: BoxError = e.into();
            tracing::error!(target: "pusher_auth", socket_id = %socket_id, outcome = "failed", error = %e, "user authorizer failed");
            Err(Refusal::internal("authorizer_error"))
        }
    }
}
