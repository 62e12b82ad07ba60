//! The session's cookies when it may span several ([`SessionBuilder::max_cookies`]): the chunks'
//! names and capacities, checked once at build, and the `Set-Cookie` headers of a sealed value.
//!
//! [`SessionBuilder::max_cookies`]: super::SessionBuilder::max_cookies

use time::Duration;

use crate::chunks::{self, MAX_COOKIES};
use crate::codec::BROWSER_COOKIE_LIMIT;
use crate::cookie::CookieAttributes;
use crate::envelope::CookieName;
use crate::error::{ChunkingProblem, ConfigError, SealError};

/// The longest `Max-Age` written (400 days), to size the headers whatever the session's life.
const LONGEST_LIFE: Duration = Duration::seconds(400 * 86_400);

/// A session over up to `names.len()` cookies (2 or more).
pub(super) struct Chunking {
    /// The chunks' names, index 0 the cookie's own.
    names: Vec<CookieName>,
    /// The most characters each chunk's value holds, so its `Set-Cookie` header (name, value
    /// and attributes) stays within 4096 bytes.
    caps: Vec<usize>,
    /// The chunks' names' lengths, for the `Cookie` header's budget.
    name_lens: Vec<usize>,
    /// The most bytes the session's cookies take in the request's `Cookie` header.
    budget: usize,
}

impl Chunking {
    /// The chunks of the cookie `name` over up to `max` cookies; `None` for one cookie.
    ///
    /// # Errors
    /// [`ConfigError::InvalidChunking`] for a count past [`MAX_COOKIES`] (or 0), a name whose
    /// chunks' names are too long, or attributes that leave a chunk no room.
    pub(super) fn new(
        name: &CookieName,
        max: usize,
        budget: usize,
        attributes: &CookieAttributes,
    ) -> Result<Option<Self>, ConfigError> {
        let invalid = |reason| ConfigError::InvalidChunking { reason };
        match max {
            0 => return Err(invalid(ChunkingProblem::CookieCount)),
            1 => return Ok(None),
            n if n > MAX_COOKIES => return Err(invalid(ChunkingProblem::CookieCount)),
            _ => {}
        }
        let names = (0..max)
            .map(|index| CookieName::new(chunks::chunk_name(name.as_str(), index)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| invalid(ChunkingProblem::NameOrAttributesTooLong))?;
        let caps = names
            .iter()
            .map(|name| {
                let empty = attributes.set_cookie(name, "", Some(LONGEST_LIFE)).len();
                // A chunk's removal (`Max-Age=0` and an `Expires`) must fit too.
                let removal = attributes.set_cookie(name, "", None).len();
                BROWSER_COOKIE_LIMIT
                    .checked_sub(empty)
                    .filter(|&cap| cap >= 16 && removal <= BROWSER_COOKIE_LIMIT)
                    .ok_or(invalid(ChunkingProblem::NameOrAttributesTooLong))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let name_lens = names.iter().map(|name| name.as_str().len()).collect();
        Ok(Some(Self {
            names,
            caps,
            name_lens,
            budget,
        }))
    }

    /// The most cookies a session takes.
    pub(super) fn max(&self) -> usize {
        self.names.len()
    }

    /// The name of chunk `index`.
    pub(super) fn name(&self, index: usize) -> &CookieName {
        &self.names[index]
    }

    /// Checks that an empty session, whose sealed value is `len` characters, fits the budget.
    ///
    /// # Errors
    /// [`ChunkingProblem::BudgetTooSmall`].
    pub(super) fn check_budget(&self, len: usize) -> Result<(), ConfigError> {
        self.parts(len)
            .map(drop)
            .map_err(|_| ConfigError::InvalidChunking {
                reason: ChunkingProblem::BudgetTooSmall,
            })
    }

    /// How many cookies a sealed value of `len` characters takes.
    ///
    /// # Errors
    /// [`SealError::TooLarge`] (`size` the `Cookie` header bytes it would take in the most
    /// cookies, `limit` the budget) if it fits in none.
    pub(super) fn parts(&self, len: usize) -> Result<u8, SealError> {
        chunks::plan(len, &self.caps, &self.name_lens, self.budget).ok_or(SealError::TooLarge {
            size: chunks::header_len(len, &self.caps, &self.name_lens),
            limit: self.budget,
        })
    }

    /// The values of `value`, sealed for `parts` cookies, in chunk order.
    pub(super) fn cut(&self, value: &str, parts: u8) -> Vec<String> {
        chunks::cut(value, parts, &self.caps)
    }
}
