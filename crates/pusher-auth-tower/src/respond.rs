//! Every answer the layer gives: 200 with the signed JSON, or a refusal with a stable code.

use bytes::Bytes;
use http::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use http::{Response, StatusCode};
use http_body_util::Full;

/// Why the layer refused a request, with its status and stable code.
///
/// The body of every refusal is `{"error":{"code":"…","message":"…"}}`. Codes:
///
/// | status | codes |
/// |---|---|
/// | 400 | `missing_field`, `duplicate_field`, `invalid_socket_id`, `invalid_channel_name`, `invalid_field_type`, `invalid_encoding`, `malformed_json`, `invalid_batch`, `batch_too_large`, `too_many_params`, `public_channel`, `body_read_error`, `invalid_body` (webhooks) |
/// | 401 | `wrong_key`, `malformed_signature`, `bad_signature`, `expired` (webhooks) |
/// | 403 | `forbidden` |
/// | 405 | `method_not_allowed` (with `Allow: POST`) |
/// | 413 | `payload_too_large` |
/// | 415 | `unsupported_media_type` |
/// | 500 | `authorizer_error`, `misconfigured`, `webhook_handler_error` |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code.
    pub code: &'static str,
    /// The message sent to the client (never a secret, never a deny reason).
    pub message: String,
}

impl Refusal {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn forbidden() -> Self {
        Refusal::new(StatusCode::FORBIDDEN, "forbidden", "not authorized")
    }

    pub(crate) fn internal(code: &'static str) -> Self {
        Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, code, "internal error")
    }

    pub(crate) fn into_response(self) -> Response<Full<Bytes>> {
        let mut body = String::with_capacity(48 + self.message.len());
        body.push_str("{\"error\":{\"code\":\"");
        body.push_str(self.code);
        body.push_str("\",\"message\":");
        body.push_str(&serde_json::to_string(&self.message).unwrap_or_else(|_| "\"\"".into()));
        body.push_str("}}");
        let mut response = json(self.status, body);
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
        }
        response
    }
}

/// A JSON response with `Cache-Control: no-store`.
pub(crate) fn json(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
