//! From a parsed request to the answer: finding the user, deciding, signing, logging.

use std::future::Future;

use http::StatusCode;
use pusher_protocol::{ChannelAuth, ChannelKind, ChannelName, SignError, SocketId};

use super::{Answer, BodyFormat, Endpoint, Prechecked, UserLookup};
use crate::authorizer::{BoxError, ChannelDecision, ChannelRequest, Misconfigured, RequestHead};
use crate::endpoints::Config;
use crate::log::{LogKind, WEBHOOK_REFUSED};
use crate::request::{
    parse_channel_request, parse_signin_request, BatchOutcome, BatchResponse, ChannelAuthRequest,
    Channels, SigninAuthRequest,
};
use crate::signin::{SigninDecision, SigninRequest};
use crate::webhook::WebhookError;
use crate::Endpoints;

/// The endpoints at work on one request.
pub(super) struct Engine<'a, U> {
    config: &'a Config<U>,
}

/// How a request ends early: the answer, already logged.
type Refused = Answer;

impl<'a, U: Clone + Send + Sync + 'static> Engine<'a, U> {
    pub(super) fn new(endpoints: &'a Endpoints<U>) -> Self {
        Engine {
            config: &endpoints.inner,
        }
    }

    pub(super) async fn answer<F, Fut>(
        &self,
        checked: Prechecked,
        head: RequestHead,
        body: &[u8],
        find_user: F,
    ) -> Answer
    where
        F: FnOnce(RequestHead) -> Fut,
        Fut: Future<Output = (RequestHead, UserLookup<U>)>,
    {
        let limit = match checked.endpoint {
            Endpoint::Webhook => self.config.webhook_body_limit,
            Endpoint::Channel | Endpoint::Signin => self.config.body_limit,
        };
        if body.len() > limit {
            return Answer::payload_too_large(limit);
        }
        let format = checked.format.unwrap_or(BodyFormat::Form);
        let result = match checked.endpoint {
            Endpoint::Channel => match parse_channel_request(format, body, &self.config.limits) {
                Ok(parsed) => self.channel(parsed, head, find_user).await,
                Err(e) => Err(bad_request(&e)),
            },
            Endpoint::Signin => match parse_signin_request(format, body, &self.config.limits) {
                Ok(parsed) => self.signin(parsed, head, find_user).await,
                Err(e) => Err(bad_request(&e)),
            },
            Endpoint::Webhook => self.webhook(head, body).await,
        };
        result.unwrap_or_else(|refusal| refusal)
    }

    /// Logs a misconfiguration at `ERROR`, at most once a minute for each kind, and answers
    /// 500 `misconfigured`.
    fn misconfigured(&self, kind: LogKind, what: &str, detail: &dyn std::fmt::Display) -> Answer {
        self.config.log_limits.log(kind, what, detail);
        Answer::misconfigured()
    }

    /// Finds the user: `Ok` with the head and the user, or the refusal (logged). `None` for
    /// the user means the request is anonymous (what is refused is up to the caller).
    async fn find<F, Fut>(
        &self,
        head: RequestHead,
        find_user: F,
    ) -> Result<(RequestHead, Result<U, String>), Refused>
    where
        F: FnOnce(RequestHead) -> Fut,
        Fut: Future<Output = (RequestHead, UserLookup<U>)>,
    {
        if let Some(user) = super::no_user::<U>() {
            return Ok((head, Ok(user)));
        }
        let (head, lookup) = find_user(head).await;
        match lookup {
            UserLookup::Found(user) => Ok((head, Ok(user))),
            UserLookup::Anonymous(reason) => Ok((head, Err(reason))),
            UserLookup::Failed(reason) => {
                if let Some(held_back) = self.config.log_limits.allow(LogKind::UserLookupFailed) {
                    tracing::error!(target: "pusher_auth", error = %reason, held_back, "finding the user failed");
                }
                Err(Answer::internal("authorizer_error"))
            }
            UserLookup::Misconfigured(reason) => {
                Err(self.misconfigured(LogKind::UserLookup, "the user cannot be found", &reason))
            }
        }
    }

    async fn channel<F, Fut>(
        &self,
        parsed: ChannelAuthRequest,
        head: RequestHead,
        find_user: F,
    ) -> Result<Answer, Refused>
    where
        F: FnOnce(RequestHead) -> Fut,
        Fut: Future<Output = (RequestHead, UserLookup<U>)>,
    {
        let (socket_id, channels, params) = parsed.into_parts();
        match channels {
            Channels::One(channel) => {
                refuse_public(&socket_id, &channel)?;
                let (head, user) = self.find(head, find_user).await?;
                let user = match user {
                    Ok(user) => user,
                    Err(reason) => return Err(not_logged_in(&socket_id, &channel, &reason)),
                };
                let request = ChannelRequest::new(socket_id, channel, params, head);
                let decision = self
                    .config
                    .authorizer
                    .authorize_dyn(user, request.clone())
                    .await;
                self.sign(request.socket_id(), request.channel(), decision)
                    .map(|auth| Answer::ok(auth.into_json()))
            }
            Channels::Batch(entries) => {
                // Invalid and public names are refused here; the rest are decided together.
                let mut outcomes: Vec<Option<BatchOutcome>> = Vec::with_capacity(entries.len());
                let mut pending = Vec::new();
                for entry in &entries {
                    outcomes.push(match entry.channel() {
                        Err(_) => Some(BatchOutcome::Refused(400)),
                        Ok(channel) => match refuse_public(&socket_id, channel) {
                            Err(refusal) => Some(BatchOutcome::Refused(refusal.status().as_u16())),
                            Ok(()) => {
                                pending.push(channel.clone());
                                None
                            }
                        },
                    });
                }
                let mut decided = Vec::new();
                let mut anonymous = None;
                if !pending.is_empty() {
                    let (head, user) = self.find(head, find_user).await?;
                    match user {
                        Ok(user) => {
                            let requests =
                                ChannelRequest::batch(socket_id.clone(), params, head, pending);
                            decided = self
                                .config
                                .authorizer
                                .authorize_batch_dyn(
                                    user,
                                    requests,
                                    self.config.limits.batch_concurrency,
                                )
                                .await;
                        }
                        Err(reason) => {
                            tracing::debug!(target: "pusher_auth", socket_id = %socket_id, channels = pending.len(), outcome = "denied", reason = %format_args!("not logged in ({reason})"), "channel authorization");
                            anonymous = Some(());
                        }
                    }
                }
                // Each decision comes with the request it decides: signed for that channel,
                // whatever the order; a channel left undecided is refused.
                let mut answer = BatchResponse::default();
                for (entry, outcome) in entries.iter().zip(outcomes) {
                    let outcome = match outcome {
                        Some(outcome) => outcome,
                        None if anonymous.is_some() => BatchOutcome::Refused(403),
                        None => {
                            let position = decided.iter().position(|(request, _)| {
                                request.socket_id() == &socket_id
                                    && request.channel().as_str() == entry.requested()
                            });
                            match position.map(|i| decided.swap_remove(i)) {
                                Some((request, decision)) => {
                                    match self.sign(
                                        request.socket_id(),
                                        request.channel(),
                                        decision,
                                    ) {
                                        Ok(auth) => BatchOutcome::Authorized(auth),
                                        Err(refusal) => {
                                            BatchOutcome::Refused(refusal.status().as_u16())
                                        }
                                    }
                                }
                                None => {
                                    self.config.log_limits.log(
                                        LogKind::BatchWithoutDecision,
                                        "authorize_batch left a channel without a decision",
                                        &format_args!("channel {}", entry.requested()),
                                    );
                                    BatchOutcome::Refused(500)
                                }
                            }
                        }
                    };
                    answer.push(entry.requested(), outcome);
                }
                Ok(Answer::ok(answer.to_json()))
            }
        }
    }

    /// Signs a decision, or refuses it; logs the outcome (a failure at `ERROR` and a
    /// misconfiguration, each at most once a minute with the count held back, so that a batch
    /// of 100 failing channels is one line; denials at `DEBUG`).
    fn sign(
        &self,
        socket_id: &SocketId,
        channel: &ChannelName,
        decision: Result<ChannelDecision, BoxError>,
    ) -> Result<ChannelAuth, Refused> {
        let kind = channel.kind();
        let credentials = &self.config.credentials;
        let signed = match decision {
            Err(e) => {
                if let Some(m) = misconfigured(&*e) {
                    return Err(self.misconfigured(
                        LogKind::Authorizer,
                        &format!("the authorizer is misconfigured (channel {channel})"),
                        m,
                    ));
                }
                if let Some(held_back) = self.config.log_limits.allow(LogKind::AuthorizerFailed) {
                    tracing::error!(target: "pusher_auth", socket_id = %socket_id, channel = %channel, kind = %kind, outcome = "failed", error = %e, held_back, "channel authorizer failed");
                }
                return Err(Answer::internal("authorizer_error"));
            }
            Ok(ChannelDecision::Allow) if kind == ChannelKind::Presence => {
                return Err(self.misconfigured(
                    LogKind::PresenceWithoutMember,
                    &format!("the authorizer allowed presence channel {channel} without a member"),
                    &"decide ChannelDecision::member(…) (channel routes: a presence route returning a Membership)",
                ));
            }
            Ok(ChannelDecision::Allow) => credentials.authorize_channel(socket_id, channel),
            Ok(ChannelDecision::Member(member)) => match member.channel_data() {
                Ok(data) => credentials.authorize_presence(socket_id, channel, data),
                Err(e) => {
                    return Err(self.misconfigured(
                        LogKind::InvalidMember,
                        &format!("the decided member of {channel} is invalid"),
                        e,
                    ))
                }
            },
            Ok(ChannelDecision::SignedInMember) => {
                if self.config.signin.is_none() {
                    // Signed all the same (sign-in may be answered elsewhere), but a connection
                    // that did not sign in is then refused by the Pusher server, which looks
                    // like the client's doing.
                    if let Some(held_back) =
                        self.config.log_limits.allow(LogKind::SignedInWithoutSignin)
                    {
                        tracing::warn!(target: "pusher_auth", channel = %channel, held_back, "a presence channel was granted to the signed-in member, but these endpoints answer no sign-in (Endpoints::with_signin): the Pusher server refuses connections that did not sign in");
                    }
                }
                credentials.authorize_signed_in_member(socket_id, channel)
            }
            Ok(ChannelDecision::Deny(reason)) => return Err(denied(socket_id, channel, &reason)),
            Ok(ChannelDecision::Pass) => {
                return Err(denied(socket_id, channel, "no authorizer decided"))
            }
        };
        match signed {
            Ok(auth) => {
                tracing::debug!(target: "pusher_auth", socket_id = %socket_id, channel = %channel, kind = %kind, outcome = "allowed", "channel authorization");
                Ok(auth)
            }
            Err(e @ SignError::NoMasterKey(_)) => Err(self.misconfigured(
                LogKind::NoMasterKey,
                "the authorizer granted an encrypted channel, but the credentials have no encryption master key (PUSHER_ENCRYPTION_MASTER_KEY_BASE64)",
                &e,
            )),
            Err(e) => Err(self.misconfigured(
                LogKind::Signing,
                "the answer could not be signed",
                &e,
            )),
        }
    }

    async fn signin<F, Fut>(
        &self,
        parsed: SigninAuthRequest,
        head: RequestHead,
        find_user: F,
    ) -> Result<Answer, Refused>
    where
        F: FnOnce(RequestHead) -> Fut,
        Fut: Future<Output = (RequestHead, UserLookup<U>)>,
    {
        let Some(handler) = &self.config.signin else {
            // Adapters only route sign-in requests when a handler is set.
            return Err(self.misconfigured(
                LogKind::NoSigninHandler,
                "a sign-in request reached endpoints without a sign-in handler",
                &"mount the sign-in path only when `Endpoints::signin_path` is `Some`",
            ));
        };
        let (socket_id, params) = parsed.into_parts();
        let (head, user) = self.find(head, find_user).await?;
        let user = match user {
            Ok(user) => user,
            Err(reason) => {
                tracing::debug!(target: "pusher_auth", socket_id = %socket_id, outcome = "denied", reason = %format_args!("not logged in ({reason})"), "sign-in");
                return Err(Answer::forbidden());
            }
        };
        let request = SigninRequest::new(socket_id.clone(), params, head);
        match handler.signin_dyn(user, request).await {
            Ok(SigninDecision::User(user)) => match user.user_data() {
                Ok(data) => {
                    let auth = self.config.credentials.authenticate_user(&socket_id, data);
                    tracing::debug!(target: "pusher_auth", socket_id = %socket_id, user_id = ?data.id().as_str(), outcome = "signed_in", "sign-in");
                    Ok(Answer::ok(auth.to_json()))
                }
                Err(e) => Err(self.misconfigured(
                    LogKind::SignedInUser,
                    "the signed-in user is invalid",
                    e,
                )),
            },
            Ok(SigninDecision::Deny(reason)) => {
                tracing::debug!(target: "pusher_auth", socket_id = %socket_id, outcome = "denied", reason = %reason, "sign-in");
                Err(Answer::forbidden())
            }
            Err(e) => {
                if let Some(m) = misconfigured(&*e) {
                    return Err(self.misconfigured(
                        LogKind::SigninHandler,
                        "the sign-in handler is misconfigured",
                        m,
                    ));
                }
                if let Some(held_back) = self.config.log_limits.allow(LogKind::SigninFailed) {
                    tracing::error!(target: "pusher_auth", socket_id = %socket_id, outcome = "failed", error = %e, held_back, "sign-in handler failed");
                }
                Err(Answer::internal("authorizer_error"))
            }
        }
    }

    async fn webhook(&self, head: RequestHead, body: &[u8]) -> Result<Answer, Refused> {
        let Some(webhooks) = &self.config.webhooks else {
            return Err(self.misconfigured(
                LogKind::NoWebhookHandler,
                "a webhook reached endpoints without a webhook handler",
                &"mount the webhook path only when `Endpoints::webhook_path` is `Some`",
            ));
        };
        let header = |name: &str| {
            head.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
        };
        let webhook = webhooks
            .verifier
            .verify(header("x-pusher-key"), header("x-pusher-signature"), body)
            .map_err(|e| webhook_refusal(&e))?;
        log_odd_events(&webhook);
        let events = webhook.events().len();
        match webhooks.handler.handle_dyn(webhook, head).await {
            Ok(()) => {
                tracing::debug!(target: "pusher_auth", events, "webhook handled");
                Ok(Answer::ok("{}".into()))
            }
            Err(e) => {
                if let Some(held_back) = self.config.log_limits.allow(LogKind::WebhookHandlerFailed)
                {
                    tracing::error!(target: "pusher_auth", error = %e, held_back, "webhook handler failed");
                }
                Err(Answer::internal("webhook_handler_error"))
            }
        }
    }
}

/// Logs (at `WARN`, at most once a minute) a signed webhook's events of a known kind whose
/// fields did not parse: they reach the handler as `WebhookEvent::Unknown`, where a
/// `_ => {}` arm would drop them unseen.
pub(crate) fn log_odd_events(webhook: &crate::webhook::Webhook) {
    for event in webhook.events() {
        if let crate::webhook::WebhookEvent::Unknown(unknown) = event {
            if let Some(reason) = unknown.reason() {
                if let Some(held_back) = crate::log::ODD_WEBHOOK_EVENTS.allow() {
                    tracing::warn!(target: "pusher_auth", reason, held_back, "a signed webhook event did not parse; it is passed on as WebhookEvent::Unknown");
                }
            }
        }
    }
}

/// The answer to a webhook the verifier refused (logged at `WARN` at most once a minute, with
/// the count held back, and at `DEBUG` otherwise: anyone can send a webhook): 400 for a bad
/// body, 401 for the rest. The answer names the age window, not the measured age (logged), so
/// that the same webhook gets the same answer.
pub(crate) fn webhook_refusal(e: &WebhookError) -> Answer {
    let limiter = match e {
        WebhookError::WrongKey => 0,
        WebhookError::MalformedSignature => 1,
        WebhookError::BadSignature => 2,
        WebhookError::Expired { .. } => 3,
        _ => 4,
    };
    match WEBHOOK_REFUSED
        .get(limiter)
        .and_then(crate::log::Limiter::allow)
    {
        Some(held_back) => {
            tracing::warn!(target: "pusher_auth", code = e.code(), error = %e, held_back, "webhook refused")
        }
        None => {
            tracing::debug!(target: "pusher_auth", code = e.code(), error = %e, "webhook refused")
        }
    }
    let status = match e {
        WebhookError::InvalidBody(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::UNAUTHORIZED,
    };
    let message = match e {
        WebhookError::Expired { max_ms, .. } => {
            format!("the webhook's time_ms is more than {max_ms} ms from now")
        }
        other => other.to_string(),
    };
    Answer::refuse(status, e.code(), &message)
}

/// The [`Misconfigured`] in `e` or among its sources, so that a wrapped one still counts.
fn misconfigured<'e>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e Misconfigured> {
    let mut cause = Some(e);
    while let Some(e) = cause {
        if let Some(m) = e.downcast_ref::<Misconfigured>() {
            return Some(m);
        }
        cause = e.source();
    }
    None
}

/// A public channel needs no authorization: 400, before any user is looked up.
fn refuse_public(socket_id: &SocketId, channel: &ChannelName) -> Result<(), Refused> {
    if channel.kind() != ChannelKind::Public {
        return Ok(());
    }
    tracing::debug!(target: "pusher_auth", socket_id = %socket_id, channel = %channel, outcome = "refused", reason = "public channels need no authorization", "channel authorization");
    Err(Answer::refuse(
        StatusCode::BAD_REQUEST,
        "public_channel",
        "public channels need no authorization",
    ))
}

fn denied(socket_id: &SocketId, channel: &ChannelName, reason: &str) -> Refused {
    tracing::debug!(target: "pusher_auth", socket_id = %socket_id, channel = %channel, kind = %channel.kind(), outcome = "denied", reason, "channel authorization");
    Answer::forbidden()
}

fn not_logged_in(socket_id: &SocketId, channel: &ChannelName, reason: &str) -> Refused {
    denied(socket_id, channel, &format!("not logged in ({reason})"))
}

fn bad_request(e: &crate::RequestError) -> Refused {
    tracing::debug!(target: "pusher_auth", code = e.code(), error = %e, "bad auth request");
    Answer::refuse(StatusCode::BAD_REQUEST, e.code(), &e.to_string())
}
