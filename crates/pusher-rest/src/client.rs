//! The client and its operations.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use futures_util::stream::{FuturesUnordered, StreamExt};
use http::header::{HeaderMap, HeaderValue, CONTENT_TYPE, PROXY_AUTHORIZATION, RETRY_AFTER};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use pusher_protocol::channel::Channel;
use pusher_protocol::rest::{sign_request, RestSignError};
use pusher_protocol::{ChannelKind, ChannelName, Credentials, SocketId, UserId};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::time::Instant;

use crate::config::{is_loopback, ClientBuilder, RetryPolicy, Scheme, DEFAULT_DEADLINE};
use crate::encryption;
use crate::error::{
    error_body, error_text, ConfigError, Error, InvalidInput, PartialDelivery, MAX_ERROR_READ,
};
use crate::transport::HttpTransport;
use crate::types::{
    check_event_name, event_data, BatchAnswer, BatchBody, BatchEvent, BatchItem, BatchResponse,
    ChannelAttributes, ChannelInfo, ChannelsAnswer, ChannelsList, EventBody, Info, IntoChannel,
    IntoChannels, TriggerResponse, UsersAnswer, MAX_CHANNELS_PER_REQUEST,
};

/// The largest 2xx answer read for the channel list, in bytes: the list of a very busy app
/// fits.
pub(crate) const MAX_CHANNEL_LIST_BYTES: usize = 16 * 1024 * 1024;

/// The largest 2xx answer read for every other operation, in bytes. Their answers are small:
/// a trigger's attributes for 100 channels are about 20 KB, a presence channel's 100 members
/// a few KB.
pub(crate) const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// Sent as `X-Pusher-Library`, as the official SDKs do.
const LIBRARY: &str = concat!("pusher-rest-rust ", env!("CARGO_PKG_VERSION"));

/// The prefix of the channel that reaches one signed-in user.
pub(crate) const USER_CHANNEL_PREFIX: &str = "#server-to-user-";

/// A client for the Pusher Channels HTTP API. Cheap to clone (one reference count); clones
/// share the connection pool.
///
/// Build it with [`Client::builder`], [`Client::from_url`] or [`Client::from_env`]. Every
/// operation checks its input before sending anything, signs each request with a fresh
/// timestamp, and reports failures as [`Error`] values.
///
/// Every operation returns a future that owns what it needs (a clone of the client, the
/// serialized data), so it can be spawned, the usual fire-and-forget broadcast of a handler:
///
/// ```
/// # async fn handler(client: pusher_rest::Client) {
/// let sending = tokio::spawn(client.trigger("chat", "message", "hi").send());
/// // … answer the request; the trigger goes on in the background.
/// # let _ = sending;
/// # }
/// ```
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
    deadline: Duration,
    retry: RetryPolicy,
    max_data_bytes: usize,
    batch_size: usize,
    split_concurrency: usize,
    transport: Transport,
}

/// Where requests go.
pub(crate) enum Transport {
    /// Over the network.
    Http(Box<HttpTransport>),
    /// To a recorder, in memory.
    #[cfg(feature = "testing")]
    Recording(Arc<crate::testing::Shared>),
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        let mut d = f.debug_struct("Client");
        d.field("base_url", &i.base_url)
            .field("app_id", &i.app_id)
            .field("credentials", &i.credentials)
            .field("timeout", &i.timeout)
            .field("deadline", &i.deadline)
            .field("retry", &i.retry)
            .field("max_data_bytes", &i.max_data_bytes)
            .field("batch_size", &i.batch_size)
            .field("split_concurrency", &i.split_concurrency);
        match &i.transport {
            Transport::Http(http) => d.field("proxy", &http.proxy_url),
            #[cfg(feature = "testing")]
            Transport::Recording(_) => d.field("transport", &"recording"),
        };
        d.finish_non_exhaustive()
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
        Self::assemble(builder, None)
    }

    /// Builds the client; `transport` replaces the network (the recording client).
    pub(crate) fn assemble(
        builder: ClientBuilder,
        transport: Option<Transport>,
    ) -> Result<Self, Error> {
        let (scheme, host, port) = builder.endpoint()?;
        let app_id = builder
            .credentials
            .app_id()
            .ok_or(ConfigError::MissingAppId)?
            .to_owned();
        // The app id is part of every path; it must be one a URL carries as is.
        sign_request(
            &builder.credentials,
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
        let base = base_url
            .parse::<Uri>()
            .map_err(|_| ConfigError::InvalidHost(host.clone()))?;
        let transport = match transport {
            Some(transport) => {
                #[cfg(feature = "testing")]
                if matches!(transport, Transport::Recording(_)) {
                    crate::transport::check_offline(&builder, &host, &base)?;
                }
                transport
            }
            None => {
                let http = HttpTransport::new(&builder, scheme, &host, &base)?;
                let plain = scheme == Scheme::Http && !builder.allow_plain_http;
                if let (true, Some(proxy)) = (plain, &http.proxy_url) {
                    tracing::warn!(
                        target: "pusher_rest",
                        server = %base_url,
                        proxy = %proxy.trim_end_matches('/'),
                        "requests to this Pusher server go through the proxy over plain http: \
                         the proxy (and anyone on the way to it) reads event data (except on \
                         private-encrypted- channels), channel names, socket ids and request \
                         signatures, which the server accepts for ten minutes. Use https (a \
                         CONNECT tunnel), or ClientBuilder::allow_plain_http() if the proxy is \
                         trusted",
                    );
                } else if plain && !is_loopback(&host) {
                    tracing::warn!(
                        target: "pusher_rest",
                        server = %base_url,
                        "requests to this Pusher server travel unencrypted (plain http): event \
                         data (except on private-encrypted- channels), channel names, socket ids \
                         and request signatures, which the server accepts for ten minutes. Use \
                         https, or ClientBuilder::allow_plain_http() on a private network",
                    );
                }
                Transport::Http(Box::new(http))
            }
        };
        let deadline = builder
            .deadline
            .unwrap_or_else(|| DEFAULT_DEADLINE.max(builder.timeout));
        Ok(Client {
            inner: Arc::new(Inner {
                credentials: builder.credentials,
                app_id,
                scheme,
                host,
                port,
                base_url,
                timeout: builder.timeout,
                deadline,
                retry: builder.retry,
                max_data_bytes: builder.max_data_bytes,
                batch_size: builder.batch_size,
                split_concurrency: builder.split_concurrency,
                transport,
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

    /// The time one attempt may take.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// The time one operation may take, retries included.
    pub fn deadline(&self) -> Duration {
        self.inner.deadline
    }

    /// The proxy requests go through (`http://host:port/`, without user name or password), if
    /// any.
    pub fn proxy_url(&self) -> Option<&str> {
        match &self.inner.transport {
            Transport::Http(http) => http.proxy_url.as_deref(),
            #[cfg(feature = "testing")]
            Transport::Recording(_) => None,
        }
    }

    /// Triggers `event` with `data` on one or more channels. Await the returned [`Trigger`] to
    /// send it (or spawn [`Trigger::send`]); before that, [`Trigger::exclude`] leaves out a
    /// connection and [`Trigger::info`] asks for channel attributes.
    ///
    /// `data` is any `T: Serialize`, serialized once to compact JSON; a value that serializes
    /// to a string (`&str`, `String`) is taken as pre-serialized data and sent as is, as the
    /// official SDKs do.
    ///
    /// One request carries at most [`MAX_CHANNELS_PER_REQUEST`] channels; more are sent as
    /// several requests, as Laravel does. An event for `private-encrypted-` channels is
    /// encrypted for each of them and sent in one request per encrypted channel (other
    /// channels share the plain requests), so every channel receives it. Those requests go out
    /// concurrently ([`ClientBuilder::split_concurrency`]). Everything is checked before the
    /// first request: channel names, the event name, the data size (as sent, after
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
    ) -> Trigger {
        let prepared = (|| {
            let channels = channels.into_channels().map_err(InvalidInput::from)?;
            check_event_name(event)?;
            Ok((channels, event.to_owned(), event_data(data)?))
        })();
        Trigger {
            client: self.clone(),
            prepared,
            socket_id: None,
            info: Info::new(),
        }
    }

    /// Publishes `event` on `channel`, both from one typed definition
    /// ([`pusher_protocol::channel::Channel`]): an event of another channel, or a payload of
    /// the wrong type, does not compile. The event is sent under its name with its payload as
    /// JSON text (what pusher-js parses back into the payload's type); an encrypted channel's
    /// payload is encrypted, as with [`Client::trigger`]. Returns the same [`Trigger`], so
    /// `.exclude(…)`, `.info(…)` and `.await` work as there.
    ///
    /// ```no_run
    /// use pusher_protocol::channel::{Channel, NoEvents, Private};
    /// use pusher_rest::Client;
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Serialize, Deserialize)]
    /// struct OrderChannel {
    ///     id: u64,
    /// }
    ///
    /// #[derive(Serialize)]
    /// #[serde(tag = "event", content = "data", rename_all = "kebab-case")]
    /// enum OrderEvent {
    ///     OrderShipped { tracking: String },
    /// }
    ///
    /// impl Channel for OrderChannel {
    ///     type Kind = Private;
    ///     const PATTERN: &'static str = "orders.{id}";
    ///     type Event = OrderEvent;
    ///     type ClientEvent = NoEvents;
    /// }
    ///
    /// # async fn run(client: Client) -> Result<(), pusher_rest::Error> {
    /// // Sends `order-shipped` with data `{"tracking":"1Z"}` on `private-orders.42`.
    /// client
    ///     .publish(&OrderChannel { id: 42 }, &OrderEvent::OrderShipped { tracking: "1Z".into() })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn publish<C: Channel>(&self, channel: &C, event: &C::Event) -> Trigger {
        match typed_parts(channel, event) {
            Ok((channel, name, data)) => self.trigger(channel, &name, data.as_str()),
            Err(e) => Trigger {
                client: self.clone(),
                prepared: Err(e),
                socket_id: None,
                info: Info::new(),
            },
        }
    }

    /// Sends `event` to every connection signed in as `user`, like
    /// [`Client::send_to_user`], with the event's name and payload from one typed value: an
    /// enum that serde writes as `{"event": name, "data": payload}`
    /// (`#[serde(tag = "event", content = "data")]`), the same type the browser's declarations
    /// are generated from.
    pub fn send_event_to_user<E: Serialize + ?Sized>(
        &self,
        user: &UserId,
        event: &E,
    ) -> ResponseFuture<()> {
        match pusher_protocol::channel::event_parts(event) {
            Ok((name, data)) => self.send_to_user(user, &name, data.as_str()),
            Err(e) => {
                let e = Error::from(InvalidInput::from(e));
                ResponseFuture::new(async move { Err(e) })
            }
        }
    }

    /// Triggers several events, each on its own channel, in requests of at most the batch
    /// size ([`ClientBuilder::batch_size`], 10 by default). Events for `private-encrypted-`
    /// channels are encrypted. Every event is checked before the first request; an empty batch
    /// sends nothing.
    ///
    /// The requests go out concurrently ([`ClientBuilder::split_concurrency`]), except that a
    /// request waits for every earlier request that shares one of its channels: events on one
    /// channel arrive in the order of the batch.
    ///
    /// ```no_run
    /// # async fn run(client: pusher_rest::Client) -> Result<(), pusher_rest::Error> {
    /// use pusher_rest::BatchEvent;
    /// let events = (1..=25).map(|i| BatchEvent::new(format!("room-{i}"), "tick", &i));
    /// let answer = client.trigger_batch(events.collect::<Result<Vec<_>, _>>()?).await?; // 3 requests
    /// assert_eq!(answer.attributes.len(), 25);
    /// # Ok(()) }
    /// ```
    pub fn trigger_batch(
        &self,
        events: impl IntoIterator<Item = BatchEvent>,
    ) -> ResponseFuture<BatchResponse> {
        let client = self.clone();
        let events: Vec<BatchEvent> = events.into_iter().collect();
        ResponseFuture::new(async move { client.run_batch(events).await })
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
    pub fn channels(&self) -> ChannelsQuery {
        ChannelsQuery {
            client: self.clone(),
            prefix: None,
            info: Info::new(),
        }
    }

    /// The state of one channel: whether it is occupied, and the counts asked for.
    pub fn channel_info(
        &self,
        channel: impl IntoChannel,
        info: Info,
    ) -> ResponseFuture<ChannelInfo> {
        let channel = match channel.into_channel() {
            Ok(channel) => channel,
            Err(e) => return ResponseFuture::ready(Err(InvalidInput::from(e).into())),
        };
        let client = self.clone();
        ResponseFuture::new(async move {
            let deadline = client.deadline_from_now();
            let path = format!("/apps/{}/channels/{}", client.inner.app_id, channel);
            let params: Vec<(&str, &str)> =
                info.to_param().map(|i| ("info", i)).into_iter().collect();
            client
                .call(
                    Method::GET,
                    &path,
                    &params,
                    Bytes::new(),
                    deadline,
                    MAX_ANSWER_BYTES,
                )
                .await
                .map_err(Error::from)
        })
    }

    /// The ids of the users subscribed to a presence channel (checked before sending: other
    /// kinds of channel have no users).
    pub fn presence_users(&self, channel: impl IntoChannel) -> ResponseFuture<Vec<UserId>> {
        let channel = match channel.into_channel() {
            Ok(channel) if channel.kind() == ChannelKind::Presence => channel,
            Ok(channel) => {
                return ResponseFuture::ready(Err(InvalidInput::NotPresence(channel).into()))
            }
            Err(e) => return ResponseFuture::ready(Err(InvalidInput::from(e).into())),
        };
        let client = self.clone();
        ResponseFuture::new(async move {
            let deadline = client.deadline_from_now();
            let path = format!("/apps/{}/channels/{}/users", client.inner.app_id, channel);
            let answer: UsersAnswer = client
                .call(
                    Method::GET,
                    &path,
                    &[],
                    Bytes::new(),
                    deadline,
                    MAX_ANSWER_BYTES,
                )
                .await?;
            Ok(answer.users.into_iter().map(|u| u.id).collect())
        })
    }

    /// Sends `event` to every connection signed in as `user` (on the channel
    /// `#server-to-user-{id}`). The id must fit the channel-name rules (`A-Z a-z 0-9 _ - = @ , .
    /// ;`), checked before sending, since it becomes part of a channel name.
    pub fn send_to_user<T: Serialize + ?Sized>(
        &self,
        user: &UserId,
        event: &str,
        data: &T,
    ) -> ResponseFuture<()> {
        let prepared = (|| -> Result<Bytes, Error> {
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
            json_body(&EventBody {
                name: event,
                data: &data,
                channels: [channel.as_str()],
                socket_id: None,
                info: None,
            })
        })();
        let client = self.clone();
        ResponseFuture::new(async move {
            let body = prepared?;
            let deadline = client.deadline_from_now();
            let path = format!("/apps/{}/events", client.inner.app_id);
            client
                .call::<serde::de::IgnoredAny>(
                    Method::POST,
                    &path,
                    &[],
                    body,
                    deadline,
                    MAX_ANSWER_BYTES,
                )
                .await
                .map(|_| ())
                .map_err(Error::from)
        })
    }

    /// Closes every connection signed in as `user`
    /// (`POST /apps/{app_id}/users/{user_id}/terminate_connections`). Only connections that
    /// signed in (`pusher.signin()`) are known by user. The id must fit the channel-name rules
    /// (`A-Z a-z 0-9 _ - = @ , . ;`), checked before sending, since it is part of the path.
    pub fn terminate_user_connections(&self, user: &UserId) -> ResponseFuture<()> {
        if let Err(e) = check_addressable(
            user,
            "only A-Z a-z 0-9 _ - = @ , . ; may appear in it, since it is part of the request path",
        ) {
            return ResponseFuture::ready(Err(e.into()));
        }
        let path = format!(
            "/apps/{}/users/{}/terminate_connections",
            self.inner.app_id, user
        );
        let client = self.clone();
        ResponseFuture::new(async move {
            let deadline = client.deadline_from_now();
            client
                .call::<serde::de::IgnoredAny>(
                    Method::POST,
                    &path,
                    &[],
                    Bytes::from_static(b"{}"),
                    deadline,
                    MAX_ANSWER_BYTES,
                )
                .await
                .map(|_| ())
                .map_err(Error::from)
        })
    }

    fn deadline_from_now(&self) -> Instant {
        let now = Instant::now();
        // A deadline too far to represent is no deadline: a century will do.
        now.checked_add(self.inner.deadline)
            .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
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
        let deadline = self.deadline_from_now();
        if channels.is_empty() {
            return Err(InvalidInput::NoChannels.into());
        }
        let max = self.inner.max_data_bytes;
        let (encrypted, plain): (Vec<usize>, Vec<usize>) = (0..channels.len()).partition(|&i| {
            channels
                .get(i)
                .is_some_and(|c| c.kind() == ChannelKind::PrivateEncrypted)
        });
        let names = |indexes: &[usize]| -> Vec<&str> {
            indexes
                .iter()
                .filter_map(|&i| channels.get(i).map(ChannelName::as_str))
                .collect()
        };

        // Every request, checked and serialized before the first is sent.
        let mut parts: Vec<Part> = Vec::new();
        let mut targets: Vec<Vec<usize>> = Vec::new();
        let body = |targets: &[&str], data: &str| {
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
                parts.push(Part::new(body(&names(chunk), &data)?));
                targets.push(chunk.to_vec());
            }
        }
        for index in encrypted {
            let Some(channel) = channels.get(index) else {
                continue;
            };
            let sealed = encryption::encrypt(&self.inner.credentials, channel, &data)?;
            if sealed.len() > max {
                return Err(InvalidInput::DataTooLarge {
                    channel: Some(channel.clone()),
                    size: sealed.len(),
                    max,
                }
                .into());
            }
            parts.push(Part::new(body(&[channel.as_str()], &sealed)?));
            targets.push(vec![index]);
        }

        let path = format!("/apps/{}/events", self.inner.app_id);
        let results = self
            .send_parts::<ChannelsAnswer>(&path, parts, deadline)
            .await;
        let mut outcome = Outcome::new(results, &targets, channels.len());
        let mut answer = TriggerResponse::default();
        for chunk in outcome.answers.drain(..).flatten() {
            answer.channels.extend(chunk.channels.unwrap_or_default());
        }
        match outcome.error(Some(&channels)) {
            None => Ok(answer),
            Some(e) => Err(e),
        }
    }

    async fn run_batch(&self, events: Vec<BatchEvent>) -> Result<BatchResponse, Error> {
        let deadline = self.deadline_from_now();
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
        let size = self.inner.batch_size;
        let mut parts: Vec<Part> = Vec::new();
        for (chunk, chunk_data) in events.chunks(size).zip(data.chunks(size)) {
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
            parts.push(Part::new(json_body(&BatchBody { batch: &items })?));
        }
        // Events on one channel keep their order.
        let dependencies = batch_dependencies(
            events
                .chunks(size)
                .map(|c| c.iter().map(|e| e.channel.as_str())),
        );
        for (part, after) in parts.iter_mut().zip(dependencies) {
            part.after = after;
        }
        if parts.is_empty() {
            return Ok(BatchResponse::default());
        }
        let path = format!("/apps/{}/batch_events", self.inner.app_id);
        let results = self.send_parts::<BatchAnswer>(&path, parts, deadline).await;
        let positions: Vec<Vec<usize>> = (0..results.len())
            .map(|index| (index * size..events.len().min((index + 1) * size)).collect())
            .collect();
        let mut outcome = Outcome::new(results, &positions, events.len());
        let mut answer = BatchResponse {
            attributes: vec![ChannelAttributes::default(); events.len()],
        };
        for (index, chunk) in outcome.answers.drain(..).enumerate() {
            let Some(chunk) = chunk else {
                continue;
            };
            let start = index * size;
            let len = size.min(events.len().saturating_sub(start));
            if chunk.batch.len() == len {
                for (slot, attributes) in answer.attributes.iter_mut().skip(start).zip(chunk.batch)
                {
                    *slot = attributes;
                }
            }
        }
        match outcome.error(None) {
            None => Ok(answer),
            Some(e) => Err(e),
        }
    }

    /// Sends the parts of a split operation, at most `split_concurrency` at once, each only
    /// after the parts it must follow have been delivered. After the first failure no part is
    /// started (those in flight finish). The result of each part, in order: `None` for a part
    /// never sent.
    async fn send_parts<T: DeserializeOwned>(
        &self,
        path: &str,
        parts: Vec<Part>,
        deadline: Instant,
    ) -> Vec<Option<Result<T, Failed>>> {
        let after: Vec<Vec<usize>> = parts.iter().map(|p| p.after.clone()).collect();
        let mut schedule = Schedule::new(&after);
        let mut results: Vec<Option<Result<T, Failed>>> = parts.iter().map(|_| None).collect();
        let mut in_flight = FuturesUnordered::new();
        let mut failed = false;
        loop {
            while !failed && in_flight.len() < self.inner.split_concurrency {
                let Some(index) = schedule.next() else {
                    break;
                };
                let Some(part) = parts.get(index) else {
                    continue;
                };
                let body = part.body.clone();
                in_flight.push(async move {
                    let result = self
                        .call::<T>(Method::POST, path, &[], body, deadline, MAX_ANSWER_BYTES)
                        .await;
                    (index, result)
                });
            }
            let Some((index, result)) = in_flight.next().await else {
                break;
            };
            if result.is_ok() {
                schedule.delivered(index);
            } else {
                failed = true;
            }
            if let Some(slot) = results.get_mut(index) {
                *slot = Some(result);
            }
        }
        results
    }

    async fn run_channels(
        &self,
        prefix: Option<String>,
        info: Info,
    ) -> Result<ChannelsList, Error> {
        let deadline = self.deadline_from_now();
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
        let answer: ChannelsAnswer = self
            .call(
                Method::GET,
                &path,
                &params,
                Bytes::new(),
                deadline,
                MAX_CHANNEL_LIST_BYTES,
            )
            .await?;
        Ok(ChannelsList {
            channels: answer.channels.unwrap_or_default(),
        })
    }

    /// Sends one request (retrying as configured) and decodes a 2xx answer of at most `limit`
    /// bytes; an empty answer reads as `{}`.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        params: &[(&str, &str)],
        body: Bytes,
        deadline: Instant,
        limit: usize,
    ) -> Result<T, Failed> {
        let (mut answer, signature) = self
            .send(&method, path, params, body, deadline, limit)
            .await?;
        if answer.iter().all(u8::is_ascii_whitespace) {
            answer = Bytes::from_static(b"{}");
        }
        // serde_json's messages quote the answer's strings: what the server chose is kept as
        // an error body is, redacted, without control characters, cut.
        serde_json::from_slice(&answer).map_err(|e| Failed {
            error: Error::Decode {
                method,
                path: path.to_owned(),
                reason: error_text(&e.to_string(), &signature, false),
            },
            // The server answered 2xx: it acted on the request.
            possibly_delivered: true,
        })
    }

    /// Sends one request, retrying as the retry policy allows within the deadline; a 2xx
    /// answer may be at most `limit` bytes long. The answer, and the signature it was sent
    /// with (to redact it from what quotes the answer).
    async fn send(
        &self,
        method: &Method,
        path: &str,
        params: &[(&str, &str)],
        body: Bytes,
        deadline: Instant,
        limit: usize,
    ) -> Result<(Bytes, String), Failed> {
        // hyper's pool and Tokio's timers panic without a runtime; say so instead.
        let runtime = tokio::runtime::Handle::try_current().is_ok();
        if !runtime && matches!(self.inner.transport, Transport::Http(_)) {
            return Err(Failed {
                error: Error::NoRuntime {
                    method: method.clone(),
                    path: path.to_owned(),
                },
                possibly_delivered: false,
            });
        }
        let mut retry = 0;
        // Whether an attempt so far may have been acted on.
        let mut acted = false;
        let failed = |error, acted| Failed {
            error,
            possibly_delivered: acted,
        };
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                let error = Error::timeout(method, path, self.inner.deadline, true);
                return Err(failed(error, acted));
            }
            let attempt_timeout = self.inner.timeout.min(remaining);
            let error = match self
                .attempt(
                    method,
                    path,
                    params,
                    body.clone(),
                    retry,
                    attempt_timeout,
                    limit,
                )
                .await
            {
                Ok(answer) => return Ok(answer),
                Err(error) => error,
            };
            acted |= may_have_acted(&error);
            let Some(wait) = self.retry_wait(&error, method, retry) else {
                return Err(failed(error, acted));
            };
            // A wait past the deadline (or too long to represent: a server's `Retry-After` can
            // say anything) is not made.
            let past_deadline = Instant::now()
                .checked_add(wait)
                .is_none_or(|end| end >= deadline);
            if past_deadline || !runtime {
                tracing::debug!(
                    target: "pusher_rest",
                    method = %method,
                    path,
                    wait_ms = wait.as_millis() as u64,
                    "not retrying: the wait would end past the deadline",
                );
                return Err(failed(error, acted));
            }
            tokio::time::sleep(wait).await;
            retry += 1;
        }
    }

    /// How long to wait before retrying after `error`, or `None` when it is not retried.
    fn retry_wait(&self, error: &Error, method: &Method, retry: u32) -> Option<Duration> {
        let policy = &self.inner.retry;
        if retry >= policy.max_retries() {
            return None;
        }
        // Sending a request twice is harmless for reads, and a risk of duplicates for the rest.
        let repeatable = method == Method::GET || policy.retries_possibly_delivered();
        let backoff = policy.backoff(retry);
        match error {
            Error::Connection {
                never_sent: true, ..
            } => Some(backoff),
            // 429: refused before acting. 503 comes from servers that refuse (with a
            // Retry-After) but also from proxies that forwarded the request first (Envoy and
            // Istio answer 503 after an upstream reset, without one): a POST is sent again after
            // a 503 only with a Retry-After, or when possibly delivered requests may be.
            Error::Status {
                status,
                retry_after,
                ..
            } if *status == StatusCode::TOO_MANY_REQUESTS
                || (*status == StatusCode::SERVICE_UNAVAILABLE
                    && (retry_after.is_some() || repeatable)) =>
            {
                Some(retry_after.unwrap_or(backoff))
            }
            Error::Status { status, .. } if status.is_server_error() && repeatable => Some(backoff),
            Error::Connection { .. } | Error::Timeout { .. } if repeatable => Some(backoff),
            _ => None,
        }
    }

    /// One signed HTTP exchange, logged as one `tracing` event (never with the query string,
    /// which holds the signature). A 2xx answer may be at most `limit` bytes long; of any
    /// other answer, at most [`MAX_ERROR_READ`] bytes are read.
    #[allow(clippy::too_many_arguments)]
    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        params: &[(&str, &str)],
        body: Bytes,
        retry: u32,
        timeout: Duration,
        limit: usize,
    ) -> Result<(Bytes, String), Error> {
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
        let started = std::time::Instant::now();
        let exchanged = match &inner.transport {
            Transport::Http(http) => {
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
                    request =
                        request.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                }
                if let Some(auth) = &http.proxy_authorization {
                    request = request.header(PROXY_AUTHORIZATION, auth.clone());
                }
                let request = request.body(Full::new(body)).map_err(|_| {
                    InvalidInput::Sign(RestSignError::InvalidPath("does not form a valid request"))
                })?;
                let exchanging = exchange(http, request, method, path, limit);
                match tokio::time::timeout(timeout, exchanging).await {
                    Ok(result) => result,
                    // An attempt given less than the timeout was cut short by the deadline.
                    Err(_) if timeout < inner.timeout => {
                        Err(Error::timeout(method, path, inner.deadline, true))
                    }
                    Err(_) => Err(Error::timeout(method, path, timeout, false)),
                }
            }
            #[cfg(feature = "testing")]
            Transport::Recording(shared) => shared.exchange(
                &inner.credentials,
                method,
                path,
                query.as_str(),
                &body,
                timeout,
            ),
        };
        let outcome = match exchanged {
            // The recorder's answers are not read from a stream: the same limits apply here.
            Ok(answer) if answer.status.is_success() && answer.body.len() > limit => {
                Err(too_large(method, path, limit))
            }
            Ok(answer) if answer.status.is_success() => Ok(answer),
            Ok(answer) => {
                let cut = answer.cut || answer.body.len() > MAX_ERROR_READ;
                let read = answer.body.get(..MAX_ERROR_READ).unwrap_or(&answer.body);
                Err(Error::Status {
                    method: method.clone(),
                    path: path.to_owned(),
                    status: answer.status,
                    body: error_body(read, query.auth_signature(), cut),
                    retry_after: retry_after(&answer.headers),
                })
            }
            Err(e) => Err(e),
        };
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        match &outcome {
            Ok(answer) => tracing::debug!(
                target: "pusher_rest",
                method = %method,
                path,
                status = answer.status.as_u16(),
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
        outcome.map(|answer| (answer.body, query.auth_signature().to_owned()))
    }
}

/// A server's answer.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// Whether the body was longer than what was read (an error answer's).
    pub(crate) cut: bool,
}

/// Sends `request` and reads the answer: a 2xx answer whole, if it is at most `limit` bytes
/// long (a [`Error::Decode`] otherwise); at most [`MAX_ERROR_READ`] bytes of any other, the
/// rest left unread (the connection is then closed, not reused). A hostile or broken server
/// can make the client read no more than that, whatever it sends.
async fn exchange(
    http: &HttpTransport,
    request: Request<Full<Bytes>>,
    method: &Method,
    path: &str,
    limit: usize,
) -> Result<Answer, Error> {
    let response = http
        .request(request)
        .await
        .map_err(|e| Error::connection(method, path, e.is_connect(), Box::new(e)))?;
    let (parts, body) = response.into_parts();
    let success = parts.status.is_success();
    let (body, cut) = if success {
        match read_at_most(body, limit).await {
            Ok((_, true)) => return Err(too_large(method, path, limit)),
            Ok((body, false)) => (body, false),
            Err((_, e)) => return Err(Error::connection(method, path, false, Box::new(e))),
        }
    } else {
        match read_at_most(body, MAX_ERROR_READ).await {
            Ok(read) => read,
            // The status is what matters; what arrived of the body is kept as cut.
            Err((read, _)) => (read, true),
        }
    };
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        body,
        cut,
    })
}

/// Reads at most `limit` bytes of `body`: the bytes, and whether more followed. On a read
/// error, what was read and the error.
async fn read_at_most(
    mut body: hyper::body::Incoming,
    limit: usize,
) -> Result<(Bytes, bool), (Bytes, hyper::Error)> {
    let mut read = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => return Err((read.freeze(), e)),
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let room = limit.saturating_sub(read.len());
        if data.len() > room {
            read.extend_from_slice(data.get(..room).unwrap_or_default());
            return Ok((read.freeze(), true));
        }
        read.extend_from_slice(&data);
    }
    Ok((read.freeze(), false))
}

fn too_large(method: &Method, path: &str, limit: usize) -> Error {
    Error::Decode {
        method: method.clone(),
        path: path.to_owned(),
        reason: format!("the answer is larger than {limit} bytes"),
    }
}

/// `Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

/// One request of a split operation.
struct Part {
    body: Bytes,
    /// Earlier parts that must be delivered before this one is sent.
    after: Vec<usize>,
}

impl Part {
    fn new(body: Bytes) -> Part {
        Part {
            body,
            after: Vec::new(),
        }
    }
}

/// For each request of a batch (the channels of its events), the earlier requests it must wait
/// for: for each of its channels, the latest earlier request that carries it. Requests that
/// share a channel are then delivered in the batch's order (each waits for the one before it
/// on that channel, which waited for the one before, …). Linear in the number of events.
fn batch_dependencies<'c, C: IntoIterator<Item = &'c str>>(
    parts: impl IntoIterator<Item = C>,
) -> Vec<Vec<usize>> {
    let mut latest: HashMap<&str, usize> = HashMap::new();
    let mut all = Vec::new();
    for (index, channels) in parts.into_iter().enumerate() {
        let mut after: Vec<usize> = channels
            .into_iter()
            .filter_map(|channel| latest.insert(channel, index))
            .filter(|&earlier| earlier != index)
            .collect();
        after.sort_unstable();
        after.dedup();
        all.push(after);
    }
    all
}

/// The order in which the requests of a split operation may be sent: a request is ready once
/// every request it waits for has been delivered, and ready requests go lowest index first.
/// Each request and each dependency is handled a bounded number of times (`work` counts the
/// steps), whatever the number of requests.
struct Schedule {
    /// For each request, how many of the requests it waits for are not delivered yet.
    waiting: Vec<usize>,
    /// For each request, the requests that wait for it.
    dependents: Vec<Vec<usize>>,
    ready: BinaryHeap<Reverse<usize>>,
    work: usize,
}

impl Schedule {
    fn new(after: &[Vec<usize>]) -> Schedule {
        let mut schedule = Schedule {
            waiting: after.iter().map(Vec::len).collect(),
            dependents: vec![Vec::new(); after.len()],
            ready: BinaryHeap::new(),
            work: 0,
        };
        for (index, earlier) in after.iter().enumerate() {
            for &e in earlier {
                schedule.work += 1;
                if let Some(d) = schedule.dependents.get_mut(e) {
                    d.push(index);
                }
            }
            if earlier.is_empty() {
                schedule.work += 1;
                schedule.ready.push(Reverse(index));
            }
        }
        schedule
    }

    /// The next request to send, if one is ready.
    fn next(&mut self) -> Option<usize> {
        self.work += 1;
        self.ready.pop().map(|Reverse(index)| index)
    }

    /// `index` was delivered: the requests that waited only for it are ready.
    fn delivered(&mut self, index: usize) {
        let dependents = self
            .dependents
            .get_mut(index)
            .map(std::mem::take)
            .unwrap_or_default();
        for d in dependents {
            self.work += 1;
            if let Some(w) = self.waiting.get_mut(d) {
                *w -= 1;
                if *w == 0 {
                    self.ready.push(Reverse(d));
                }
            }
        }
    }
}

/// A request that failed, and whether the server may have acted on it: in its last attempt,
/// or in an earlier one.
struct Failed {
    error: Error,
    possibly_delivered: bool,
}

impl From<Failed> for Error {
    fn from(failed: Failed) -> Error {
        failed.error
    }
}

/// Whether the server may have acted on a request whose attempt ended in `error`: anything
/// but a refusal (a 4xx, or a 503 with `Retry-After`) or a request that never left.
fn may_have_acted(error: &Error) -> bool {
    match error {
        Error::Status {
            status,
            retry_after,
            ..
        } => {
            !(status.is_client_error()
                || (*status == StatusCode::SERVICE_UNAVAILABLE && retry_after.is_some()))
        }
        Error::Connection { never_sent, .. } => !*never_sent,
        Error::Timeout { .. } | Error::Decode { .. } | Error::Partial { .. } => true,
        Error::Config(_) | Error::InvalidInput(_) | Error::NoRuntime { .. } => false,
    }
}

/// What became of a request of a split operation, and so of its channels or events.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    NotDelivered,
    PossiblyDelivered,
    Delivered,
}

/// The results of a split operation's requests, sorted.
struct Outcome<T> {
    /// The answers of the delivered requests, index for index.
    answers: Vec<Option<T>>,
    /// The fate of each item (channel of a trigger, event of a batch).
    fates: Vec<Fate>,
    completed: usize,
    possibly_delivered: usize,
    total: usize,
    /// The errors of the failed requests, in the order of the requests.
    errors: Vec<Error>,
}

impl<T> Outcome<T> {
    /// `results` of the requests; `items_of` gives, for each request, the items it carries
    /// (positions below `items`).
    fn new(
        results: Vec<Option<Result<T, Failed>>>,
        items_of: &[Vec<usize>],
        items: usize,
    ) -> Outcome<T> {
        let mut outcome = Outcome {
            answers: Vec::with_capacity(results.len()),
            fates: vec![Fate::NotDelivered; items],
            completed: 0,
            possibly_delivered: 0,
            total: results.len(),
            errors: Vec::new(),
        };
        for (result, carried) in results.into_iter().zip(items_of) {
            let fate = match result {
                Some(Ok(answer)) => {
                    outcome.completed += 1;
                    outcome.answers.push(Some(answer));
                    Fate::Delivered
                }
                Some(Err(failed)) => {
                    outcome.answers.push(None);
                    outcome.errors.push(failed.error);
                    if failed.possibly_delivered {
                        outcome.possibly_delivered += 1;
                        Fate::PossiblyDelivered
                    } else {
                        Fate::NotDelivered
                    }
                }
                None => {
                    outcome.answers.push(None);
                    Fate::NotDelivered
                }
            };
            for &item in carried {
                if let Some(f) = outcome.fates.get_mut(item) {
                    *f = fate;
                }
            }
        }
        outcome
    }

    /// The operation's error, if a request failed: that request's own error when the operation
    /// was one request, or when nothing was delivered nor possibly delivered; otherwise
    /// [`Error::Partial`], with the items by fate (as channels for a trigger, given its
    /// `channels`; as positions for a batch).
    fn error(&mut self, channels: Option<&[ChannelName]>) -> Option<Error> {
        let mut errors = std::mem::take(&mut self.errors).into_iter();
        let first = errors.next()?;
        if self.total == 1 || (self.completed == 0 && self.possibly_delivered == 0) {
            return Some(first);
        }
        let [delivered, possibly, not] =
            [Fate::Delivered, Fate::PossiblyDelivered, Fate::NotDelivered].map(|fate| {
                let fates = self.fates.iter().enumerate();
                fates
                    .filter(|(_, f)| **f == fate)
                    .map(|(i, _)| i)
                    .collect::<Vec<usize>>()
            });
        // A trigger names its items as channels, a batch as positions.
        let split = |positions: Vec<usize>| match channels {
            Some(all) => {
                let named = positions.iter().filter_map(|&i| all.get(i).cloned());
                (named.collect(), Vec::new())
            }
            None => (Vec::new(), positions),
        };
        let (delivered_channels, delivered_events) = split(delivered);
        let (possibly_delivered_channels, possibly_delivered_events) = split(possibly);
        let (not_delivered_channels, not_delivered_events) = split(not);
        Some(Error::Partial {
            completed: self.completed,
            possibly_delivered: self.possibly_delivered,
            total: self.total,
            source: Box::new(first),
            delivery: Box::new(PartialDelivery {
                delivered_channels,
                delivered_events,
                possibly_delivered_channels,
                possibly_delivered_events,
                not_delivered_channels,
                not_delivered_events,
                other_errors: errors.collect(),
            }),
        })
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

/// The future of one operation. It owns what it needs (a clone of the client, the request's
/// data), so it is `Send + 'static`: it can be spawned (`tokio::spawn`), stored, or awaited.
/// Dropping it cancels the requests not yet answered.
#[must_use = "a request is sent only when its future is awaited or spawned"]
pub struct ResponseFuture<T> {
    inner: Pin<Box<dyn Future<Output = Result<T, Error>> + Send>>,
}

impl<T> ResponseFuture<T> {
    fn new(future: impl Future<Output = Result<T, Error>> + Send + 'static) -> Self {
        ResponseFuture {
            inner: Box::pin(future),
        }
    }

    fn ready(result: Result<T, Error>) -> Self
    where
        T: Send + 'static,
    {
        Self::new(std::future::ready(result))
    }
}

impl<T> Future for ResponseFuture<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().inner.as_mut().poll(cx)
    }
}

impl<T> fmt::Debug for ResponseFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

/// A trigger, ready to send: await it, or spawn [`Trigger::send`]. Returned by
/// [`Client::trigger`]; it holds a clone of the client, so it borrows nothing.
#[must_use = "a trigger is sent only when awaited"]
pub struct Trigger {
    client: Client,
    prepared: Result<(Vec<ChannelName>, String, String), Error>,
    socket_id: Option<SocketId>,
    info: Info,
}

impl fmt::Debug for Trigger {
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

impl Trigger {
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

    /// The trigger as a `Send + 'static` future, to spawn or to give to APIs that take one;
    /// `.await` on the trigger itself does the same.
    ///
    /// ```
    /// # async fn handler(client: pusher_rest::Client) {
    /// // Fire and forget: the handler answers at once, the event goes out in the background.
    /// tokio::spawn(client.trigger("chat", "message", "hi").send());
    /// // The same through IntoFuture.
    /// tokio::spawn(std::future::IntoFuture::into_future(client.trigger("chat", "message", "hi")));
    /// # }
    /// ```
    pub fn send(self) -> ResponseFuture<TriggerResponse> {
        self.into_future()
    }
}

impl IntoFuture for Trigger {
    type Output = Result<TriggerResponse, Error>;
    type IntoFuture = ResponseFuture<TriggerResponse>;

    fn into_future(self) -> Self::IntoFuture {
        ResponseFuture::new(async move {
            let (channels, event, data) = self.prepared?;
            self.client
                .run_trigger(channels, event, data, self.socket_id, self.info)
                .await
        })
    }
}

/// A channel-list query, ready to send: await it. Returned by [`Client::channels`].
#[must_use = "a query is sent only when awaited"]
pub struct ChannelsQuery {
    client: Client,
    prefix: Option<String>,
    info: Info,
}

impl fmt::Debug for ChannelsQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelsQuery")
            .field("prefix", &self.prefix)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl ChannelsQuery {
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

    /// The query as a `Send + 'static` future; `.await` on the query itself does the same.
    pub fn send(self) -> ResponseFuture<ChannelsList> {
        self.into_future()
    }
}

impl IntoFuture for ChannelsQuery {
    type Output = Result<ChannelsList, Error>;
    type IntoFuture = ResponseFuture<ChannelsList>;

    fn into_future(self) -> Self::IntoFuture {
        ResponseFuture::new(async move { self.client.run_channels(self.prefix, self.info).await })
    }
}

/// The channel name, event name and data (JSON text) of a typed event.
pub(crate) fn typed_parts<C: Channel>(
    channel: &C,
    event: &C::Event,
) -> Result<(ChannelName, String, String), Error> {
    let name = channel.name().map_err(InvalidInput::from)?;
    let (event, data) = pusher_protocol::channel::event_parts(event).map_err(InvalidInput::from)?;
    Ok((name, event, data))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]
    use super::*;

    /// A batch on one channel, one event per request: each request waits for the one before it
    /// and no other, so the bookkeeping grows with the batch, not with its square.
    #[test]
    fn batch_dependencies_grow_linearly() {
        for len in [10, 1000] {
            let channels: Vec<String> = (0..len).map(|i| format!("c{}", i % 3)).collect();
            // One channel throughout, then three in turn, then requests of two events.
            let one = batch_dependencies((0..len).map(|_| ["same"]));
            let edges: usize = one.iter().map(Vec::len).sum();
            assert_eq!(edges, len - 1, "{len} requests on one channel");
            assert!(one.iter().enumerate().skip(1).all(|(i, a)| a == &[i - 1]));
            let turns = batch_dependencies(channels.iter().map(|c| [c.as_str()]));
            assert!(turns.iter().map(Vec::len).sum::<usize>() <= len);
            assert_eq!(turns.get(7), Some(&vec![4]));
            let pairs =
                batch_dependencies(channels.chunks(2).map(|c| c.iter().map(String::as_str)));
            assert!(pairs.iter().map(Vec::len).sum::<usize>() <= len);

            // Sending them all, in the order the schedule gives: each request once, each
            // after those it waits for, at a cost that grows with requests and dependencies.
            for after in [&one, &turns, &pairs] {
                let mut schedule = Schedule::new(after);
                let mut delivered = vec![false; after.len()];
                let mut order = Vec::new();
                while let Some(index) = schedule.next() {
                    assert!(after[index].iter().all(|&e| delivered[e]), "{index}");
                    delivered[index] = true;
                    order.push(index);
                    schedule.delivered(index);
                }
                assert_eq!(order.len(), after.len());
                let edges: usize = after.iter().map(Vec::len).sum();
                assert!(
                    schedule.work <= 3 * (after.len() + edges) + 1,
                    "{} steps for {} requests and {edges} dependencies",
                    schedule.work,
                    after.len()
                );
            }
        }
    }
}
