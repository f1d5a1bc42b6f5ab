//! What route handlers decide: [`Access`] for private and encrypted channels, [`Membership`]
//! for presence channels, and the values that convert into them ([`IntoDecision`]).

use std::borrow::Cow;

use std::marker::PhantomData;

use serde::Serialize;

use pusher_protocol::{PresenceMember, UserData};

use crate::authorizer::{BoxError, Member};
use crate::signin::SigninDecision;

/// What a `private-` or `private-encrypted-` route decides. A handler may also return a `bool`
/// (`false` denies, naming the route in the log).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Access {
    /// May join.
    Allow,
    /// May not join; the reason is logged, never sent (the client gets a 403).
    Deny(Cow<'static, str>),
    /// No opinion: the next matching route decides.
    Pass,
}

impl Access {
    /// A denial with a reason for the logs.
    pub fn deny(reason: impl Into<Cow<'static, str>>) -> Self {
        Access::Deny(reason.into())
    }

    /// `Allow` when `allowed`, else a denial with `reason`.
    pub fn allow_if(allowed: bool, reason: impl Into<Cow<'static, str>>) -> Self {
        if allowed {
            Access::Allow
        } else {
            Access::deny(reason)
        }
    }
}

impl From<bool> for Access {
    fn from(allowed: bool) -> Self {
        if allowed {
            Access::Allow
        } else {
            Access::Deny(Cow::Borrowed("the route handler returned false"))
        }
    }
}

/// What a `presence-` route decides: who the user is in the channel, or no.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Membership {
    /// Joins as this member (made by [`Membership::member`]).
    Member(Member),
    /// Joins as the user the connection signed in as (`pusher.signin()`), with no
    /// `channel_data` (see [`ChannelDecision::SignedInMember`](crate::ChannelDecision::SignedInMember)).
    SignedInMember,
    /// May not join; the reason is logged, never sent.
    Deny(Cow<'static, str>),
    /// No opinion: the next matching route decides.
    Pass,
}

impl Membership {
    /// Joins as `member`, with typed user information serialized here, once.
    pub fn member<T: Serialize>(member: PresenceMember<T>) -> Self {
        Membership::Member(Member::serialize(member))
    }

    /// A denial with a reason for the logs.
    pub fn deny(reason: impl Into<Cow<'static, str>>) -> Self {
        Membership::Deny(reason.into())
    }
}

impl<T: Serialize> From<PresenceMember<T>> for Membership {
    fn from(member: PresenceMember<T>) -> Self {
        Membership::member(member)
    }
}

impl<T: Serialize> From<Option<PresenceMember<T>>> for Membership {
    /// `None` denies.
    fn from(member: Option<PresenceMember<T>>) -> Self {
        match member {
            Some(member) => Membership::member(member),
            None => Membership::Deny(Cow::Borrowed("the route handler returned no member")),
        }
    }
}

/// What a route for a typed presence channel (`Presence<M>`) decides: a member whose user info
/// is the definition's `M`, or no. Handlers return `PresenceMember<M>` or
/// `Option<PresenceMember<M>>` (or a `Result` of either); a member with other info does not
/// compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedMembership<M> {
    pub(super) membership: Membership,
    info: PhantomData<fn() -> M>,
}

impl<M: Serialize> From<PresenceMember<M>> for TypedMembership<M> {
    fn from(member: PresenceMember<M>) -> Self {
        TypedMembership {
            membership: Membership::member(member),
            info: PhantomData,
        }
    }
}

impl<M: Serialize> From<Option<PresenceMember<M>>> for TypedMembership<M> {
    /// `None` denies.
    fn from(member: Option<PresenceMember<M>>) -> Self {
        TypedMembership {
            membership: member.into(),
            info: PhantomData,
        }
    }
}

mod sealed {
    pub trait Sealed<D> {}
}

/// What a route handler's (or a sign-in handler's) future may resolve to for a decision of
/// type `D` (see the table in the [module docs](super)): the decision, something that converts
/// into it, or a `Result` of either whose error becomes a 500.
#[diagnostic::on_unimplemented(
    message = "a handler cannot return `{Self}` here",
    label = "this handler must return a `{D}`",
    note = "private and encrypted routes return `bool` or `Access`; presence routes return `Membership`, `PresenceMember<T>` or `Option<PresenceMember<T>>`; sign-in handlers return `SigninDecision`, `UserData<T>` or `Option<UserData<T>>`; any of them may be wrapped in `Result<_, E>`",
    note = "`Ok(…)` alone cannot name its error type: write `Ok::<_, Infallible>(…)`, or return the value without `Ok`"
)]
pub trait IntoDecision<D>: sealed::Sealed<D> + Send {
    /// The decision, or the handler's error.
    fn into_decision(self) -> Result<D, BoxError>;
}

macro_rules! into_decision {
    ($d:ty: $($t:ty $(where $($g:ident: $b:path),*)?);* $(;)?) => {$(
        impl$(<$($g: $b + Send),*>)? sealed::Sealed<$d> for $t {}
        impl$(<$($g: $b + Send),*>)? IntoDecision<$d> for $t {
            fn into_decision(self) -> Result<$d, BoxError> {
                Ok(self.into())
            }
        }
    )*};
}

into_decision!(Access: Access; bool);
into_decision!(Membership: Membership; PresenceMember<T> where T: Serialize; Option<PresenceMember<T>> where T: Serialize);
impl<M: Serialize + Send> sealed::Sealed<TypedMembership<M>> for PresenceMember<M> {}
impl<M: Serialize + Send> IntoDecision<TypedMembership<M>> for PresenceMember<M> {
    fn into_decision(self) -> Result<TypedMembership<M>, BoxError> {
        Ok(self.into())
    }
}
impl<M: Serialize + Send> sealed::Sealed<TypedMembership<M>> for Option<PresenceMember<M>> {}
impl<M: Serialize + Send> IntoDecision<TypedMembership<M>> for Option<PresenceMember<M>> {
    fn into_decision(self) -> Result<TypedMembership<M>, BoxError> {
        Ok(self.into())
    }
}
into_decision!(SigninDecision: SigninDecision; UserData<T> where T: Serialize; Option<UserData<T>> where T: Serialize);

impl<D, X, E> sealed::Sealed<D> for Result<X, E>
where
    X: IntoDecision<D>,
    E: Into<BoxError>,
{
}

impl<D, X, E> IntoDecision<D> for Result<X, E>
where
    X: IntoDecision<D>,
    E: Into<BoxError> + Send,
{
    fn into_decision(self) -> Result<D, BoxError> {
        self.map_err(Into::into)?.into_decision()
    }
}
