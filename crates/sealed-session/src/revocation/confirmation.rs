//! [`Confirmation`]: the wait for a shared store to confirm a revocation, as a future that holds
//! no thread while it waits.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use super::revoke_error::RevokeError;

/// The store's side of a wait: resolves once what was recorded is durable, or with
/// [`RevokeError::NotDurable`] when the store's own bounded wait is over.
type Wait = Pin<Box<dyn Future<Output = Result<(), RevokeError>> + Send>>;

/// A revocation recorded on this instance, waiting for the shared store to confirm it
/// ([`RevocationStore::settle`](super::RevocationStore::settle)): `await` it in async code
/// (the wait holds no thread, so a slow Redis slows the logouts that wait, never the other
/// requests), or [`Confirmation::wait`] for it outside an async runtime. It resolves to the
/// value once the revocation is durable, or to the error that says why it is not (the
/// revocation still holds on this instance).
///
/// ```
/// use sealed_session::revocation::Confirmation;
/// use sealed_session::{NotDurableReason, RevokeError};
/// use std::time::Duration;
///
/// // What a store that keeps nothing elsewhere answers: confirmed at once.
/// assert_eq!(Confirmation::ready(Ok(7)).wait(), Ok(7));
/// // What a shared store answers when it knows at once that it can't confirm.
/// let down = RevokeError::NotDurable {
///     waited: Duration::ZERO,
///     reason: NotDurableReason::RedisUnreachable,
/// };
/// assert_eq!(Confirmation::<()>::ready(Err(down.clone())).wait(), Err(down));
/// ```
#[must_use = "a revocation is durable only once its confirmation resolves to `Ok`"]
pub struct Confirmation<T = ()> {
    state: State<T>,
}

enum State<T> {
    /// Decided: the value, or why there is none. `None` once returned.
    Ready(Option<Result<T, RevokeError>>),
    /// The value, once the store's wait resolves to `Ok`.
    Waiting(Option<T>, Wait),
}

impl<T> Confirmation<T> {
    /// A confirmation decided at once: `Ok(value)` (nothing to wait for) or the error.
    pub fn ready(result: Result<T, RevokeError>) -> Self {
        Self {
            state: State::Ready(Some(result)),
        }
    }

    /// `value` once `wait` resolves to `Ok`: what a shared store returns from
    /// [`settle`](super::RevocationStore::settle) when the revocations recorded so far are not
    /// confirmed yet. `wait` must resolve on its own within the store's bounded wait (it is
    /// polled by the caller's runtime, or by [`Confirmation::wait`]'s thread), and wake its
    /// waker when it may have changed.
    ///
    /// ```
    /// use sealed_session::revocation::Confirmation;
    ///
    /// let confirmed = Confirmation::waiting("alice", async { Ok(()) });
    /// assert_eq!(confirmed.wait(), Ok("alice"));
    /// ```
    pub fn waiting(
        value: T,
        wait: impl Future<Output = Result<(), RevokeError>> + Send + 'static,
    ) -> Self {
        Self {
            state: State::Waiting(Some(value), Box::pin(wait)),
        }
    }

    /// The same wait, with the value `change` makes of this one's.
    ///
    /// ```
    /// use sealed_session::revocation::Confirmation;
    ///
    /// assert_eq!(Confirmation::ready(Ok(2)).map(|n| n * 10).wait(), Ok(20));
    /// ```
    pub fn map<U>(self, change: impl FnOnce(T) -> U) -> Confirmation<U> {
        Confirmation {
            state: match self.state {
                State::Ready(result) => State::Ready(result.map(|r| r.map(change))),
                State::Waiting(value, wait) => State::Waiting(value.map(change), wait),
            },
        }
    }

    /// Blocks the calling thread until the confirmation resolves (at most the store's own
    /// bounded wait). For code outside an async runtime (a command-line task, a test); in async
    /// code, `.await` it instead, so no worker thread is held while Redis is slow.
    ///
    /// # Errors
    /// The store's [`RevokeError`] (e.g. [`RevokeError::NotDurable`]).
    pub fn wait(self) -> Result<T, RevokeError>
    where
        T: Unpin,
    {
        let mut this = self;
        let waker = Waker::from(Arc::new(Unpark(thread::current())));
        let mut cx = Context::from_waker(&waker);
        loop {
            match Pin::new(&mut this).poll(&mut cx) {
                Poll::Ready(result) => return result,
                // A wake that came before the park makes the park return at once.
                Poll::Pending => thread::park(),
            }
        }
    }

    /// Whether it is confirmed without waiting (a store that keeps nothing elsewhere): nothing
    /// to await.
    ///
    /// ```
    /// use sealed_session::revocation::Confirmation;
    ///
    /// assert!(Confirmation::ready(Ok(())).is_confirmed());
    /// assert!(!Confirmation::waiting((), async { Ok(()) }).is_confirmed());
    /// ```
    pub fn is_confirmed(&self) -> bool {
        matches!(self.state, State::Ready(Some(Ok(_))))
    }

    /// Whether it is refused without waiting: nothing was recorded, or the store knows at once
    /// that it can't confirm (e.g. Redis known unreachable).
    ///
    /// ```
    /// use sealed_session::RevokeError;
    /// use sealed_session::revocation::{Confirmation, Generation};
    ///
    /// let refused = Confirmation::<()>::ready(Err(RevokeError::Superseded {
    ///     current: Generation::ZERO,
    /// }));
    /// assert!(refused.is_refused());
    /// assert!(!Confirmation::ready(Ok(())).is_refused());
    /// ```
    pub fn is_refused(&self) -> bool {
        matches!(self.state, State::Ready(Some(Err(_))))
    }
}

impl<T: Unpin> Future for Confirmation<T> {
    type Output = Result<T, RevokeError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let result = match &mut this.state {
            State::Ready(result) => result.take(),
            State::Waiting(value, wait) => match wait.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(())) => value.take().map(Ok),
                Poll::Ready(Err(err)) => {
                    value.take();
                    Some(Err(err))
                }
            },
        };
        let result = result.expect("a Confirmation polled after it resolved");
        this.state = State::Ready(None);
        Poll::Ready(result)
    }
}

impl<T> fmt::Debug for Confirmation<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Ready(Some(Ok(_))) => "confirmed",
            State::Ready(Some(Err(_))) => "refused",
            State::Ready(None) => "resolved",
            State::Waiting(..) => "waiting",
        };
        f.debug_struct("Confirmation")
            .field("state", &state)
            .finish()
    }
}

/// Wakes the thread blocked in [`Confirmation::wait`].
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::NotDurableReason;

    /// A wait resolved from another thread: `wait` parks until the wake, and gets the value.
    #[test]
    fn a_wait_resolved_by_another_thread_returns_the_value() {
        /// The answer, once given, and the waker of the wait.
        type Slot = (Option<Result<(), RevokeError>>, Option<Waker>);
        let slot: Arc<Mutex<Slot>> = Arc::new(Mutex::new((None, None)));
        let polled = Arc::clone(&slot);
        let wait = std::future::poll_fn(move |cx| {
            let mut slot = polled.lock().unwrap();
            match slot.0.take() {
                Some(result) => Poll::Ready(result),
                None => {
                    slot.1 = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        });
        let confirmation = Confirmation::waiting(5u8, wait);
        assert!(!confirmation.is_confirmed());
        let resolver = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            let mut guard = slot.lock().unwrap();
            guard.0 = Some(Err(RevokeError::NotDurable {
                waited: Duration::from_millis(20),
                reason: NotDurableReason::RedisTimedOut,
            }));
            if let Some(waker) = guard.1.take() {
                waker.wake();
            }
        });
        assert!(matches!(
            confirmation.wait(),
            Err(RevokeError::NotDurable {
                reason: NotDurableReason::RedisTimedOut,
                ..
            })
        ));
        resolver.join().unwrap();
    }
}
