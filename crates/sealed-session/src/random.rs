//! Where nonces and session ids come from: the operating system's generator, or, for
//! reproducible tests only, a source given through a builder's `dangerous()`.

use std::fmt;

use rand::TryRng as _;

use crate::error::SealError;

/// A source of random bytes: the nonce of every encrypted cookie and the id of every new or
/// renewed session.
///
/// The default everywhere is [`SystemRandom`]. Another source can only be set through
/// [`CodecBuilder::dangerous`](crate::codec::CodecBuilder::dangerous) or
/// [`SessionBuilder::dangerous`](crate::SessionBuilder::dangerous), for reproducible tests:
/// read the warning on [`DangerousCodecBuilder::random_source`] first.
///
/// [`DangerousCodecBuilder::random_source`]: crate::codec::DangerousCodecBuilder::random_source
///
/// ```
/// use sealed_session::codec::{RandomSource, SystemRandom};
///
/// let (mut a, mut b) = ([0u8; 24], [0u8; 24]);
/// SystemRandom.fill(&mut a)?;
/// SystemRandom.fill(&mut b)?;
/// assert_ne!(a, b, "never the same bytes twice");
/// # Ok::<(), sealed_session::SealError>(())
/// ```
pub trait RandomSource: Send + Sync + fmt::Debug {
    /// Fills all of `dest` with random bytes.
    ///
    /// # Errors
    /// [`SealError::Randomness`] if no bytes can be drawn: the seal or the new session that
    /// asked for them fails with it, and nothing is written.
    fn fill(&self, dest: &mut [u8]) -> Result<(), SealError>;
}

/// The operating system's generator: the default [`RandomSource`].
///
/// The OS generator, not a user-space one seeded from it: a forked process can't repeat its
/// nonces.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemRandom;

impl RandomSource for SystemRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), SealError> {
        rand::rngs::SysRng
            .try_fill_bytes(dest)
            .map_err(|_| SealError::Randomness)
    }
}
