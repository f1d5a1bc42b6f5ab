//! Each decision is one `tracing` event with the socket id, channel, kind, outcome and deny
//! reason; no event carries the secret, the master key or an auth signature.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

#[path = "../../../tests/support/logs.rs"]
mod logs;

use logs::Captured;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use pusher_auth::{
    ChannelDecision, ChannelKind, ChannelRequest, ChannelRoutes, Credentials, Endpoints,
    PresenceMember, UserId,
};
use pusher_auth_tower::PusherAuthLayer;
use tower::{service_fn, Layer, ServiceExt};

const SECRET: &str = "very-secret-app-secret";
const MASTER: &str = "zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=";

#[test]
fn decisions_are_logged_without_secrets() {
    let captured = Captured::default();
    let subscriber = captured.subscriber(tracing::Level::DEBUG);
    let credentials = Credentials::new("app-key", SECRET)
        .unwrap()
        .with_encryption_master_key_base64(MASTER)
        .unwrap();
    let authorizer = |(): (), req: ChannelRequest| async move {
        Ok::<_, &'static str>(match req.channel().name_without_prefix() {
            "closed" => ChannelDecision::deny("room closed for maintenance"),
            "broken" => return Err("lookup failed: connection refused"),
            _ if req.channel().kind() == ChannelKind::Presence => {
                ChannelDecision::member(PresenceMember::new(UserId::new("u1").unwrap()))
            }
            _ => ChannelDecision::Allow,
        })
    };
    let layer = PusherAuthLayer::new(Endpoints::new(credentials.clone(), authorizer));
    let mut bodies = Vec::new();
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for channel in [
            "private-open",
            "private-closed",
            "private-broken",
            "presence-room",
            "private-encrypted-room",
            "bad%20name",
        ] {
            let svc = layer.layer(service_fn(|_req: Request<Full<Bytes>>| async {
                Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::new())))
            }));
            let req = Request::post("/pusher/auth")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", "Bearer user-token")
                .body(Full::new(Bytes::from(format!(
                    "socket_id=7.8&channel_name={channel}"
                ))))
                .unwrap();
            let body = rt.block_on(async {
                svc.oneshot(req)
                    .await
                    .unwrap()
                    .into_body()
                    .collect()
                    .await
                    .unwrap()
                    .to_bytes()
            });
            bodies.push(String::from_utf8(body.to_vec()).unwrap());
        }
    });
    let log = captured.text();
    // One event per decision, with its fields.
    assert!(
        log.contains("outcome=\"allowed\"") && log.contains("channel=private-open"),
        "{log}"
    );
    assert!(
        log.contains("outcome=\"denied\"")
            && log.contains("room closed for maintenance")
            && log.contains("socket_id=7.8"),
        "{log}"
    );
    assert!(log.contains("kind=private"), "{log}");
    assert!(
        log.contains("outcome=\"failed\"") && log.contains("lookup failed"),
        "{log}"
    );
    assert!(log.contains("code=\"invalid_channel_name\""), "{log}");
    // Denials and grants are DEBUG (a reconnect storm at INFO would flood the logs); an
    // authorizer's failure is an ERROR.
    for line in log.lines() {
        if line.contains("outcome=\"denied\"") || line.contains("outcome=\"allowed\"") {
            assert!(line.contains("DEBUG"), "{line}");
        }
        if line.contains("outcome=\"failed\"") {
            assert!(line.contains("ERROR"), "{line}");
        }
    }
    // No secret, no master key, no signature, no bearer token.
    assert!(
        !log.contains(SECRET) && !log.contains("zyrm8pvV") && !log.contains("user-token"),
        "{log}"
    );
    for body in &bodies {
        let answer = serde_json::from_str::<serde_json::Value>(body).unwrap();
        if let Some(auth) = answer["auth"].as_str() {
            let signature = auth.split(':').nth(1).unwrap();
            assert!(!log.contains(signature), "a signature was logged: {log}");
        }
        if let Some(shared) = answer["shared_secret"].as_str() {
            assert!(!log.contains(shared), "a shared secret was logged: {log}");
        }
    }
    // And the client never sees a reason or an error detail.
    assert!(bodies
        .iter()
        .all(|b| !b.contains("maintenance") && !b.contains("connection refused")));
}

/// Sends each body to `/pusher/auth` under `layer`, with `extensions` inserted, on a fresh
/// runtime; returns the statuses.
fn send_all<U: Clone + Send + Sync + 'static>(
    layer: &PusherAuthLayer<U>,
    bodies: &[&str],
    extend: impl Fn(&mut http::Extensions),
) -> Vec<u16> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    bodies
        .iter()
        .map(|body| {
            let svc = layer.layer(service_fn(|_req: Request<Full<Bytes>>| async {
                Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::new())))
            }));
            let mut req = Request::post("/pusher/auth")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Full::new(Bytes::from(body.to_string())))
                .unwrap();
            extend(req.extensions_mut());
            rt.block_on(svc.oneshot(req)).unwrap().status().as_u16()
        })
        .collect()
}

#[derive(Clone)]
struct User;

/// A visitor who is not logged in reads as such; a missing middleware is an ERROR that names
/// the fix; the app's mistakes are logged at most once a minute, however many clients cause
/// them.
#[test]
fn anonymous_visitors_and_misconfigurations_read_as_what_they_are() {
    let routes = || ChannelRoutes::new().private("chat", |_: User, (): ()| async { true });
    let credentials = Credentials::new("app-key", SECRET).unwrap();

    let captured = Captured::default();
    tracing::subscriber::with_default(captured.subscriber(tracing::Level::DEBUG), || {
        let layer = PusherAuthLayer::new(Endpoints::new(credentials.clone(), routes()));
        let statuses = send_all(&layer, &["socket_id=1.1&channel_name=private-chat"], |e| {
            e.insert(None::<User>);
        });
        assert_eq!(statuses, [403]);
    });
    let log = captured.text();
    assert!(log.contains("not logged in"), "{log}");
    assert!(!log.contains("ERROR") && !log.contains("layer"), "{log}");

    let captured = Captured::default();
    tracing::subscriber::with_default(captured.subscriber(tracing::Level::DEBUG), || {
        let layer = PusherAuthLayer::new(Endpoints::new(credentials.clone(), routes()));
        let statuses = send_all(
            &layer,
            &["socket_id=1.1&channel_name=private-chat"; 5],
            |_| {},
        );
        assert_eq!(statuses, [500; 5]);
    });
    let log = captured.text();
    let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(errors.len(), 1, "{log}");
    assert!(
        errors[0].contains("no `Option<tracing::User>` in the request extensions"),
        "{log}"
    );

    // An authorizer that grants an encrypted channel without a master key: 500 and one ERROR
    // line, then silence for a minute; a flood of such requests adds no line.
    let captured = Captured::default();
    tracing::subscriber::with_default(captured.subscriber(tracing::Level::DEBUG), || {
        let anything = |(): (), _: ChannelRequest| async {
            Ok::<_, std::convert::Infallible>(ChannelDecision::Allow)
        };
        let layer = PusherAuthLayer::new(Endpoints::new(credentials.clone(), anything));
        let statuses = send_all(
            &layer,
            &["socket_id=1.1&channel_name=private-encrypted-chat"; 50],
            |_| {},
        );
        assert_eq!(statuses, [500; 50]);
    });
    let log = captured.text();
    let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(errors.len(), 1, "{log}");
    assert!(
        errors[0].contains("no encryption master key") && errors[0].contains("held_back=0"),
        "{log}"
    );
}

/// The app's backend failing is an ERROR line at most once a minute, with the count held back
/// (a batch of failing channels, or a flood of clients, is one line); a presence channel
/// granted to the signed-in member where no sign-in is answered is a WARN; a signed webhook
/// event that does not parse is a WARN before it reaches the handler as `Unknown`.
#[test]
fn failures_and_odd_events_log_at_most_once_a_minute() {
    let credentials = Credentials::new("app-key", SECRET).unwrap();
    let captured = Captured::default();
    tracing::subscriber::with_default(captured.subscriber(tracing::Level::DEBUG), || {
        let failing =
            |(): (), _: ChannelRequest| async { Err::<ChannelDecision, _>("the database is down") };
        let layer = PusherAuthLayer::new(Endpoints::new(credentials.clone(), failing));
        let batch = (0..20)
            .map(|i| format!("channel_name[{i}]=private-{i}"))
            .collect::<Vec<_>>()
            .join("&");
        let batch = format!("socket_id=1.1&{batch}");
        let statuses = send_all(
            &layer,
            &[
                "socket_id=1.1&channel_name=private-a",
                "socket_id=1.1&channel_name=private-b",
                batch.as_str(),
            ],
            |_| {},
        );
        assert_eq!(statuses, [500, 500, 200]);
    });
    let log = captured.text();
    let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(errors.len(), 1, "{log}");
    assert!(
        errors[0].contains("channel authorizer failed") && errors[0].contains("held_back=0"),
        "{log}"
    );

    let captured = Captured::default();
    tracing::subscriber::with_default(captured.subscriber(tracing::Level::DEBUG), || {
        let signed_in = ChannelRoutes::new().presence("chat", |(): (), (): ()| async {
            pusher_auth::routes::Membership::SignedInMember
        });
        let layer = PusherAuthLayer::new(Endpoints::new(credentials.clone(), signed_in));
        let statuses = send_all(
            &layer,
            &["socket_id=1.1&channel_name=presence-chat"; 3],
            |_| {},
        );
        assert_eq!(statuses, [200; 3]);
    });
    let log = captured.text();
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(warnings[0].contains("answer no sign-in"), "{log}");

    let captured = Captured::default();
    let webhook =
        tracing::subscriber::with_default(captured.subscriber(tracing::Level::DEBUG), || {
            let hook = pusher_auth::testing::SignedWebhook::now(
                &credentials,
                [
                    serde_json::json!({"name": "member_added", "channel": "presence-chat"}),
                    serde_json::json!({"name": "channel_vacated", "channel": "presence-chat"}),
                ],
            );
            pusher_auth::adapter::verify_webhook(
                &pusher_auth::WebhookVerifier::new(credentials.clone()),
                Some(hook.key()),
                Some(hook.signature()),
                hook.body().as_bytes(),
            )
            .unwrap()
        });
    assert!(matches!(
        &webhook.events()[0],
        pusher_auth::WebhookEvent::Unknown(u) if u.reason().is_some_and(|r| r.contains("user_id"))
    ));
    let log = captured.text();
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(warnings[0].contains("did not parse"), "{log}");
}
