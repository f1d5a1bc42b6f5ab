//! The client and its operations.

use std::borrow::Cow;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use pusher_protocol::rest::{sign_request, RestSignError};
use pusher_protocol::{ChannelKind, ChannelName, Credentials, SocketId, UserId};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::config::{ClientBuilder, RetryPolicy, Scheme};
use crate::encryption;
use crate::error::{truncate_body, ConfigError, Error, InvalidInput};
use crate::types::{
    check_event_name, event_data, BatchAnswer, BatchBody, BatchEvent, BatchItem, BatchResponse,
    ChannelAttributes, ChannelInfo, ChannelsAnswer, ChannelsList, EventBody, Info, IntoChannel,
    IntoChannels, TriggerResponse, UsersAnswer, MAX_CHANNELS_PER_REQUEST,
};

/// The largest answer body read, in bytes (a channel list of a very busy app fits).
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Sent as `X-Pusher-Library`, as the official SDKs do.
const LIBRARY: &str = concat!("pusher-rest-rust ", env!("CARGO_PKG_VERSION"));

/// The prefix of the channel that reaches one signed-in user.
const USER_CHANNEL_PREFIX: &str = "#server-to-user-";

#[cfg(feature = "rustls")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "rustls"))]
type Connector = HttpConnector;

type HttpClient = hyper_util::client::legacy::Client<Connector, Full<Bytes>>;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A client for the Pusher Channels HTTP API. Cheap to clone (one reference count); clones
/// share the connection pool.
///
/// Build it with [`Client::builder`], [`Client::from_url`] or [`Client::from_env`]. Every
/// operation checks its input before sending anything, signs each request with a fresh
/// timestamp, and reports failures as [`Error`] values.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    credentials: Credentials,
    app_id: String,
    scheme: Scheme,
    host: String,
    port: u16,
    base_url: String,
    timeout: Duration,
    retry: RetryPolicy,
    max_data_bytes: usize,
    batch_size: usize,
    http: HttpClient,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Client")
            .field("base_url", &i.base_url)
            .field("app_id", &i.app_id)
            .field("credentials", &i.credentials)
            .field("timeout", &i.timeout)
            .field("retry", &i.retry)
            .field("max_data_bytes", &i.max_data_bytes)
            .field("batch_size", &i.batch_size)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder for `credentials`, which must carry the app id.
    pub fn builder(credentials: Credentials) -> ClientBuilder {
        ClientBuilder::new(credentials)
    }

    /// A client from a `PUSHER_URL`-style URL: `http(s)://KEY:SECRET@HOST[:PORT]/apps/APP_ID`,
    /// with the default settings. See [`ClientBuilder::from_url`].
    pub fn from_url(url: &str) -> Result<Self, Error> {
        ClientBuilder::from_url(url)?.build()
    }

    /// A client from the environment, with the default settings. See
    /// [`ClientBuilder::from_env`] for the variables read.
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::from_env()?.build()
    }

    pub(crate) fn from_builder(builder: ClientBuilder) -> Result<Self, Error> {
        let (scheme, host, port) = builder.endpoint()?;
        let credentials = builder.credentials;
        let app_id = credentials
            .app_id()
            .ok_or(ConfigError::MissingAppId)?
            .to_owned();
        // The app id is part of every path; it must be one a URL carries as is.
        sign_request(
            &credentials,
            "GET",
            &format!("/apps/{app_id}/channels"),
            &[],
            b"",
            0,
        )
        .map_err(|_| ConfigError::InvalidAppId)?;
        let base_url = if port == scheme.default_port() {
            format!("{scheme}://{host}")
        } else {
            format!("{scheme}://{host}:{port}")
        };
        base_url
            .parse::<Uri>()
            .map_err(|_| ConfigError::InvalidHost(host.clone()))?;

        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.set_connect_timeout(Some(builder.timeout));
        let connector = connector(http, scheme)?;
        let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .build(connector);
        Ok(Client {
            inner: Arc::new(Inner {
                credentials,
                app_id,
                scheme,
                host,
                port,
                base_url,
                timeout: builder.timeout,
                retry: builder.retry,
                max_data_bytes: builder.max_data_bytes,
                batch_size: builder.batch_size,
                http,
            }),
        })
    }

    /// The credentials requests are signed with.
    pub fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    /// The app id in every request path.
    pub fn app_id(&self) -> &str {
        &self.inner.app_id
    }

    /// `scheme://host[:port]`, the port shown only when it is not the scheme's usual one.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The scheme requests use.
    pub fn scheme(&self) -> Scheme {
        self.inner.scheme
    }

    /// The server's host.
    pub fn host(&self) -> &str {
        &self.inner.host
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.inner.port
    }

    /// The request timeout.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Triggers `event` with `data` on one or more channels. Await the returned [`Trigger`] to
    /// send it; before that, [`Trigger::exclude`] leaves out a connection and [`Trigger::info`]
    /// asks for channel attributes.
    ///
    /// `data` is any `T: Serialize`, serialized once to compact JSON; a value that serializes
    /// to a string (`&str`, `String`) is taken as pre-serialized data and sent as is, as the
    /// official SDKs do.
    ///
    /// One request carries at most [`MAX_CHANNELS_PER_REQUEST`] channels; more are sent as
    /// several requests, as Laravel does. An event for `private-encrypted-` channels is
    /// encrypted for each of them and sent in one request per encrypted channel (other
    /// channels share the plain requests), so every channel receives it. Everything is checked
    /// before the first request: channel names, the event name, the data size (as sent, after
    /// encryption) and the master key.
    ///
    /// ```no_run
    /// # async fn run(client: pusher_rest::Client, sender: Option<pusher_rest::SocketId>) -> Result<(), pusher_rest::Error> {
    /// use pusher_rest::Info;
    /// #[derive(serde::Serialize)]
    /// struct Message<'a> { text: &'a str }
    ///
    /// client.trigger("private-chat", "message", &Message { text: "hi" }).await?;
    ///
    /// let answer = client
    ///     .trigger(["chat-1", "chat-2"], "message", &Message { text: "hi" })
    ///     .exclude(sender) // the sender's socket, e.g. from its X-Socket-ID header
    ///     .info(Info::new().subscription_count())
    ///     .await?;
    /// println!("{:?}", answer.channel("chat-1").and_then(|c| c.subscription_count));
    /// # Ok(()) }
    /// ```
    pub fn trigger<T: Serialize + ?Sized>(
        &self,
        channels: impl IntoChannels,
        event: &str,
        data: &T,
    ) -> Trigger<'_> {
        let prepared = (|| {
            let channels = channels.into_channels().map_err(InvalidInput::from)?;
            check_event_name(event)?;
            Ok((channels, event.to_owned(), event_data(data)?))
        })();
        Trigger {
            client: self,
            prepared,
            socket_id: None,
            info: Info::new(),
        }
    }

    /// Triggers several events, each on its own channel, in order, in requests of at most the
    /// batch size ([`ClientBuilder::batch_size`], 10 by default). Events for
    /// `private-encrypted-` channels are encrypted. Every event is checked before the first
    /// request; an empty batch sends nothing.
    ///
    /// ```no_run
    /// # async fn run(client: pusher_rest::Client) -> Result<(), pusher_rest::Error> {
    /// use pusher_rest::BatchEvent;
    /// let events = (1..=25).map(|i| BatchEvent::new(format!("room-{i}"), "tick", &i));
    /// let answer = client.trigger_batch(events.collect::<Result<Vec<_>, _>>()?).await?; // 3 requests
    /// assert_eq!(answer.attributes.len(), 25);
    /// # Ok(()) }
    /// ```
    pub async fn trigger_batch(
        &self,
        events: impl IntoIterator<Item = BatchEvent>,
    ) -> Result<BatchResponse, Error> {
        let events: Vec<BatchEvent> = events.into_iter().collect();
        let max = self.inner.max_data_bytes;
        let mut data: Vec<Cow<'_, str>> = Vec::with_capacity(events.len());
        for event in &events {
            let sent = self.data_for(&event.channel, &event.data)?;
            if sent.len() > max {
                return Err(InvalidInput::DataTooLarge {
                    channel: (event.channel.kind() == ChannelKind::PrivateEncrypted)
                        .then(|| event.channel.clone()),
                    size: sent.len(),
                    max,
                }
                .into());
            }
            data.push(sent);
        }
        let mut bodies = Vec::new();
        for (chunk, chunk_data) in events
            .chunks(self.inner.batch_size)
            .zip(data.chunks(self.inner.batch_size))
        {
            let items: Vec<BatchItem<'_>> = chunk
                .iter()
                .zip(chunk_data)
                .map(|(event, data)| BatchItem {
                    channel: event.channel.as_str(),
                    name: &event.name,
                    data,
                    socket_id: event.socket_id.as_ref().map(SocketId::as_str),
                    info: event.info.to_param(),
                })
                .collect();
            bodies.push((chunk.len(), json_body(&BatchBody { batch: &items })?));
        }
        let path = format!("/apps/{}/batch_events", self.inner.app_id);
        let total = bodies.len();
        let mut answer = BatchResponse::default();
        for (index, (len, body)) in bodies.into_iter().enumerate() {
            let result = self
                .call::<BatchAnswer>(Method::POST, &path, &[], body)
                .await;
            match result {
                Ok(chunk) if chunk.batch.len() == len => answer.attributes.extend(chunk.batch),
                Ok(_) => answer
                    .attributes
                    .extend(std::iter::repeat_n(ChannelAttributes::default(), len)),
                Err(e) if index == 0 => return Err(e),
                Err(e) => {
                    return Err(Error::Partial {
                        completed: index,
                        total,
                        delivered_channels: Vec::new(),
                        delivered_events: answer.attributes.len(),
                        source: Box::new(e),
                    })
                }
            }
        }
        Ok(answer)
    }

    /// Lists the occupied channels. Await the returned [`ChannelsQuery`];
    /// [`ChannelsQuery::filter_by_prefix`] and [`ChannelsQuery::info`] refine it.
    ///
    /// ```no_run
    /// # async fn run(client: pusher_rest::Client) -> Result<(), pusher_rest::Error> {
    /// use pusher_rest::Info;
    /// let presence = client.channels().filter_by_prefix("presence-").info(Info::new().user_count()).await?;
    /// for (name, attributes) in &presence.channels {
    ///     println!("{name}: {:?} users", attributes.user_count);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn channels(&self) -> ChannelsQuery<'_> {
        ChannelsQuery {
            client: self,
            prefix: None,
            info: Info::new(),
        }
    }

    /// The state of one channel: whether it is occupied, and the counts asked for.
    pub async fn channel_info(
        &self,
        channel: impl IntoChannel,
        info: Info,
    ) -> Result<ChannelInfo, Error> {
        let channel = channel.into_channel().map_err(InvalidInput::from)?;
        let path = format!("/apps/{}/channels/{}", self.inner.app_id, channel);
        let params: Vec<(&str, &str)> = info.to_param().map(|i| ("info", i)).into_iter().collect();
        self.call(Method::GET, &path, &params, Bytes::new()).await
    }

    /// The ids of the users subscribed to a presence channel (checked before sending: other
    /// kinds of channel have no users).
    pub async fn presence_users(&self, channel: impl IntoChannel) -> Result<Vec<UserId>, Error> {
        let channel = channel.into_channel().map_err(InvalidInput::from)?;
        if channel.kind() != ChannelKind::Presence {
            return Err(InvalidInput::NotPresence(channel).into());
        }
        let path = format!("/apps/{}/channels/{}/users", self.inner.app_id, channel);
        let answer: UsersAnswer = self.call(Method::GET, &path, &[], Bytes::new()).await?;
        Ok(answer.users.into_iter().map(|u| u.id).collect())
    }

    /// Sends `event` to every connection signed in as `user` (on the channel
    /// `#server-to-user-{id}`). The id must fit the channel-name rules (`A-Z a-z 0-9 _ - = @ , .
    /// ;`), checked before sending, since it becomes part of a channel name.
    pub async fn send_to_user<T: Serialize + ?Sized>(
        &self,
        user: &UserId,
        event: &str,
        data: &T,
    ) -> Result<(), Error> {
        check_addressable(
            user,
            "only A-Z a-z 0-9 _ - = @ , . ; may appear in it, since it becomes part of the channel name #server-to-user-{id}",
        )?;
        check_event_name(event)?;
        let data = event_data(data)?;
        if data.len() > self.inner.max_data_bytes {
            return Err(InvalidInput::DataTooLarge {
                channel: None,
                size: data.len(),
                max: self.inner.max_data_bytes,
            }
            .into());
        }
        let channel = format!("{USER_CHANNEL_PREFIX}{user}");
        let body = json_body(&EventBody {
            name: event,
            data: &data,
            channels: [channel.as_str()],
            socket_id: None,
            info: None,
        })?;
        let path = format!("/apps/{}/events", self.inner.app_id);
        self.call::<serde::de::IgnoredAny>(Method::POST, &path, &[], body)
            .await
            .map(|_| ())
    }

    /// Closes every connection signed in as `user`
    /// (`POST /apps/{app_id}/users/{user_id}/terminate_connections`). Only connections that
    /// signed in (`pusher.signin()`) are known by user. The id must fit the channel-name rules
    /// (`A-Z a-z 0-9 _ - = @ , . ;`), checked before sending, since it is part of the path.
    pub async fn terminate_user_connections(&self, user: &UserId) -> Result<(), Error> {
        check_addressable(
            user,
            "only A-Z a-z 0-9 _ - = @ , . ; may appear in it, since it is part of the request path",
        )?;
        let path = format!(
            "/apps/{}/users/{}/terminate_connections",
            self.inner.app_id, user
        );
        self.call::<serde::de::IgnoredAny>(Method::POST, &path, &[], Bytes::from_static(b"{}"))
            .await
            .map(|_| ())
    }

    /// The `data` sent on `channel`: encrypted for a `private-encrypted-` channel.
    fn data_for<'d>(&self, channel: &ChannelName, data: &'d str) -> Result<Cow<'d, str>, Error> {
        Ok(if channel.kind() == ChannelKind::PrivateEncrypted {
            Cow::Owned(encryption::encrypt(&self.inner.credentials, channel, data)?)
        } else {
            Cow::Borrowed(data)
        })
    }

    async fn run_trigger(
        &self,
        channels: Vec<ChannelName>,
        event: String,
        data: String,
        socket_id: Option<SocketId>,
        info: Info,
    ) -> Result<TriggerResponse, Error> {
        if channels.is_empty() {
            return Err(InvalidInput::NoChannels.into());
        }
        let max = self.inner.max_data_bytes;
        let (encrypted, plain): (Vec<&ChannelName>, Vec<&ChannelName>) = channels
            .iter()
            .partition(|c| c.kind() == ChannelKind::PrivateEncrypted);

        // Every request, checked and serialized before the first is sent.
        let mut requests: Vec<(Vec<&ChannelName>, Bytes)> = Vec::new();
        let body = |targets: &[&ChannelName], data: &str| {
            json_body(&EventBody {
                name: &event,
                data,
                channels: targets,
                socket_id: socket_id.as_ref().map(SocketId::as_str),
                info: info.to_param(),
            })
        };
        if !plain.is_empty() {
            if data.len() > max {
                return Err(InvalidInput::DataTooLarge {
                    channel: None,
                    size: data.len(),
                    max,
                }
                .into());
            }
            for chunk in plain.chunks(MAX_CHANNELS_PER_REQUEST) {
                requests.push((chunk.to_vec(), body(chunk, &data)?));
            }
        }
        for channel in encrypted {
            let sealed = encryption::encrypt(&self.inner.credentials, channel, &data)?;
            if sealed.len() > max {
                return Err(InvalidInput::DataTooLarge {
                    channel: Some(channel.clone()),
                    size: sealed.len(),
                    max,
                }
                .into());
            }
            requests.push((vec![channel], body(&[channel], &sealed)?));
        }

        let path = format!("/apps/{}/events", self.inner.app_id);
        let total = requests.len();
        let mut answer = TriggerResponse::default();
        let mut delivered: Vec<ChannelName> = Vec::new();
        for (index, (targets, body)) in requests.into_iter().enumerate() {
            match self
                .call::<ChannelsAnswer>(Method::POST, &path, &[], body)
                .await
            {
                Ok(chunk) => {
                    answer.channels.extend(chunk.channels.unwrap_or_default());
                    delivered.extend(targets.into_iter().cloned());
                }
                Err(e) if index == 0 => return Err(e),
                Err(e) => {
                    return Err(Error::Partial {
                        completed: index,
                        total,
                        delivered_channels: delivered,
                        delivered_events: 0,
                        source: Box::new(e),
                    })
                }
            }
        }
        Ok(answer)
    }

    async fn run_channels(
        &self,
        prefix: Option<String>,
        info: Info,
    ) -> Result<ChannelsList, Error> {
        let prefix = prefix.filter(|p| !p.is_empty());
        if let Some(prefix) = &prefix {
            if !prefix.bytes().all(ChannelName::is_allowed_byte) {
                return Err(InvalidInput::InvalidPrefix.into());
            }
        }
        let mut params: Vec<(&str, &str)> = Vec::with_capacity(2);
        if let Some(prefix) = &prefix {
            params.push(("filter_by_prefix", prefix));
        }
        if let Some(info) = info.to_param() {
            params.push(("info", info));
        }
        let path = format!("/apps/{}/channels", self.inner.app_id);
        let answer: ChannelsAnswer = self.call(Method::GET, &path, &params, Bytes::new()).await?;
        Ok(ChannelsList {
            channels: answer.channels.unwrap_or_default(),
        })
    }

    /// Sends one request (retrying as configured) and decodes a 2xx answer; an empty answer
    /// reads as `{}`.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        params: &[(&str, &str)],
        body: Bytes,
    ) -> Result<T, Error> {
        let mut answer = self.send(&method, path, params, body).await?;
        if answer.iter().all(u8::is_ascii_whitespace) {
            answer = Bytes::from_static(b"{}");
        }
        serde_json::from_slice(&answer).map_err(|e| Error::Decode {
            method,
            path: path.to_owned(),
            reason: e.to_string(),
        })
    }

    /// Sends one request, retrying connection failures and 5xx answers as the retry policy
    /// allows.
    async fn send(
        &self,
        method: &Method,
        path: &str,
        params: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Bytes, Error> {
        // hyper's pool and Tokio's timers panic without a runtime; say so instead.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::NoRuntime {
                method: method.clone(),
                path: path.to_owned(),
            });
        }
        let mut retry = 0;
        loop {
            match self
                .attempt(method, path, params, body.clone(), retry)
                .await
            {
                Err(e) if e.is_retryable() && retry < self.inner.retry.max_retries() => {
                    tokio::time::sleep(self.inner.retry.backoff(retry)).await;
                    retry += 1;
                }
                other => return other,
            }
        }
    }

    /// One signed HTTP exchange, logged as one `tracing` event (never with the query string,
    /// which holds the signature).
    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        params: &[(&str, &str)],
        body: Bytes,
        retry: u32,
    ) -> Result<Bytes, Error> {
        let inner = &self.inner;
        let query = sign_request(
            &inner.credentials,
            method.as_str(),
            path,
            params,
            &body,
            unix_time(),
        )
        .map_err(InvalidInput::from)?;
        let uri: Uri = format!("{}{}?{}", inner.base_url, path, query.as_str())
            .parse()
            .map_err(|_| {
                InvalidInput::Sign(RestSignError::InvalidPath("does not form a valid URI"))
            })?;
        let mut request = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header("x-pusher-library", HeaderValue::from_static(LIBRARY));
        if !body.is_empty() {
            request = request.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let request = request.body(Full::new(body)).map_err(|_| {
            InvalidInput::Sign(RestSignError::InvalidPath("does not form a valid request"))
        })?;

        let started = Instant::now();
        let exchange = async {
            let response = inner
                .http
                .request(request)
                .await
                .map_err(|e| Error::Connection {
                    method: method.clone(),
                    path: path.to_owned(),
                    source: Box::new(e),
                })?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        Error::Decode {
                            method: method.clone(),
                            path: path.to_owned(),
                            reason: format!("the answer is larger than {MAX_RESPONSE_BYTES} bytes"),
                        }
                    } else {
                        Error::Connection {
                            method: method.clone(),
                            path: path.to_owned(),
                            source: e,
                        }
                    }
                })?
                .to_bytes();
            Ok::<_, Error>((status, body))
        };
        let outcome = match tokio::time::timeout(inner.timeout, exchange).await {
            Ok(Ok((status, body))) if status.is_success() => Ok((status, body)),
            Ok(Ok((status, body))) => Err(Error::Status {
                method: method.clone(),
                path: path.to_owned(),
                status,
                body: truncate_body(&body),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::Timeout {
                method: method.clone(),
                path: path.to_owned(),
                timeout: inner.timeout,
            }),
        };
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        match &outcome {
            Ok((status, _)) => tracing::debug!(
                target: "pusher_rest",
                method = %method,
                path,
                status = status.as_u16(),
                duration_ms,
                retry,
                "pusher request",
            ),
            Err(error) => tracing::warn!(
                target: "pusher_rest",
                method = %method,
                path,
                status = error.status().map(|s: StatusCode| s.as_u16()),
                duration_ms,
                retry,
                %error,
                "pusher request failed",
            ),
        }
        outcome.map(|(_, body)| body)
    }
}

#[cfg(feature = "rustls")]
fn connector(mut http: HttpConnector, _scheme: Scheme) -> Result<Connector, ConfigError> {
    http.enforce_http(false);
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
        .map_err(|e| ConfigError::Tls(e.to_string()))?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http))
}

#[cfg(not(feature = "rustls"))]
fn connector(http: HttpConnector, scheme: Scheme) -> Result<Connector, ConfigError> {
    match scheme {
        Scheme::Http => Ok(http),
        Scheme::Https => Err(ConfigError::TlsDisabled),
    }
}

fn json_body<T: Serialize>(value: &T) -> Result<Bytes, Error> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| InvalidInput::Serialize(e.to_string()).into())
}

fn unix_time() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Checks that a user id can go into a channel name or a URL path unescaped: channel-name
/// characters only, and short enough for `#server-to-user-{id}`.
fn check_addressable(user: &UserId, charset_reason: &'static str) -> Result<(), InvalidInput> {
    let id = user.as_str();
    let echo = || id.chars().take(40).collect();
    if !id.bytes().all(ChannelName::is_allowed_byte) {
        return Err(InvalidInput::UserIdNotAddressable {
            id: echo(),
            reason: charset_reason,
        });
    }
    if USER_CHANNEL_PREFIX.len() + id.len() > ChannelName::MAX_LEN {
        return Err(InvalidInput::UserIdNotAddressable {
            id: echo(),
            reason: "#server-to-user-{id} would be longer than a channel name may be",
        });
    }
    Ok(())
}

/// A trigger, ready to send: await it. Returned by [`Client::trigger`].
#[must_use = "a trigger is sent only when awaited"]
pub struct Trigger<'a> {
    client: &'a Client,
    prepared: Result<(Vec<ChannelName>, String, String), Error>,
    socket_id: Option<SocketId>,
    info: Info,
}

impl fmt::Debug for Trigger<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Trigger");
        match &self.prepared {
            Ok((channels, event, _)) => d.field("channels", channels).field("event", event),
            Err(e) => d.field("error", e),
        };
        d.field("socket_id", &self.socket_id)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl<'a> Trigger<'a> {
    /// Leaves a connection out: the sender's socket, usually from its `X-Socket-ID` header
    /// (Laravel's `toOthers()`). `None` leaves nobody out, so an optional header passes
    /// straight through.
    pub fn exclude(mut self, socket_id: impl Into<Option<SocketId>>) -> Self {
        self.socket_id = socket_id.into();
        self
    }

    /// Asks for channel attributes in the answer ([`TriggerResponse::channels`]).
    pub fn info(mut self, info: Info) -> Self {
        self.info = info;
        self
    }

    /// The trigger as a `Future`, for APIs that take one (such as a runtime's `block_on`);
    /// `.await` on the trigger itself does the same.
    pub fn send(self) -> impl Future<Output = Result<TriggerResponse, Error>> + Send + 'a {
        self.into_future()
    }
}

impl<'a> IntoFuture for Trigger<'a> {
    type Output = Result<TriggerResponse, Error>;
    type IntoFuture = BoxFuture<'a, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let (channels, event, data) = self.prepared?;
            self.client
                .run_trigger(channels, event, data, self.socket_id, self.info)
                .await
        })
    }
}

/// A channel-list query, ready to send: await it. Returned by [`Client::channels`].
#[must_use = "a query is sent only when awaited"]
#[derive(Debug)]
pub struct ChannelsQuery<'a> {
    client: &'a Client,
    prefix: Option<String>,
    info: Info,
}

impl<'a> ChannelsQuery<'a> {
    /// Only channels whose name starts with `prefix` (e.g. `presence-`).
    pub fn filter_by_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Attributes to report for each channel. Pusher answers 400 to `user_count` unless the
    /// prefix limits the list to presence channels.
    pub fn info(mut self, info: Info) -> Self {
        self.info = info;
        self
    }

    /// The query as a `Future`, for APIs that take one (such as a runtime's `block_on`);
    /// `.await` on the query itself does the same.
    pub fn send(self) -> impl Future<Output = Result<ChannelsList, Error>> + Send + 'a {
        self.into_future()
    }
}

impl<'a> IntoFuture for ChannelsQuery<'a> {
    type Output = Result<ChannelsList, Error>;
    type IntoFuture = BoxFuture<'a, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.client.run_channels(self.prefix, self.info).await })
    }
}
