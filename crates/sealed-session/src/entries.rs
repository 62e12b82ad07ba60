//! A session's values in memory: two buffers and a sorted index, encoded as a postcard map.
//!
//! Measured against a plain `BTreeMap<String, Vec<u8>>` in `docs/benchmarks.md` ("The
//! `Entries` arena"). That bench, `benches/benches/hand_written.rs`, compiles this very file
//! with `#[path]`, so it must use nothing else of this crate: only `std`, `serde` and
//! `serde_bytes` (and `postcard` in its tests).

use serde::{Deserialize, Serialize};

/// The application's values, sorted by key, each key once.
///
/// Encoded exactly as a postcard map (`varint count`, then key and value per entry). In memory,
/// keys sit back to back in one string and values in one buffer, with a sorted index of spans,
/// so opening a cookie costs a few allocations however many values it holds, instead of two
/// per value, and reading a key needs no UTF-8 check. Replacing a value appends the new bytes
/// and leaves the old ones unused until they outnumber the live ones. Decoding refuses keys
/// out of order or repeated, so one set of values has exactly one encoding.
#[derive(Clone, Default)]
pub(crate) struct Entries {
    keys: String,
    values: Vec<u8>,
    index: Vec<Entry>,
}

#[derive(Clone, Copy)]
struct Entry {
    key: Span,
    value: Span,
}

#[derive(Clone, Copy)]
struct Span {
    start: usize,
    len: usize,
}

impl Span {
    fn range(self) -> std::ops::Range<usize> {
        self.start..self.start + self.len
    }
}

impl Entries {
    fn key(&self, entry: &Entry) -> &str {
        &self.keys[entry.key.range()]
    }

    fn value(&self, entry: &Entry) -> &[u8] {
        &self.values[entry.value.range()]
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.index.binary_search_by(|e| self.key(e).cmp(key))
    }

    fn push(&mut self, key: &str, value: &[u8]) -> Entry {
        let key_start = self.keys.len();
        self.keys.push_str(key);
        Entry {
            key: Span {
                start: key_start,
                len: key.len(),
            },
            value: self.push_value(value),
        }
    }

    fn push_value(&mut self, value: &[u8]) -> Span {
        let start = self.values.len();
        self.values.extend_from_slice(value);
        Span {
            start,
            len: value.len(),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&[u8]> {
        self.position(key).ok().map(|i| self.value(&self.index[i]))
    }

    pub(crate) fn insert(&mut self, key: &str, value: &[u8]) -> Option<Vec<u8>> {
        self.compact_if_mostly_unused();
        match self.position(key) {
            Ok(i) => {
                let previous = self.value(&self.index[i]).to_vec();
                self.index[i].value = self.push_value(value);
                Some(previous)
            }
            Err(i) => {
                let entry = self.push(key, value);
                self.index.insert(i, entry);
                None
            }
        }
    }

    /// Rewrites the buffers without unused bytes once they outnumber the live ones, so a
    /// handler that replaces a value in a loop doesn't grow them without bound.
    fn compact_if_mostly_unused(&mut self) {
        let live: usize = self.index.iter().map(|e| e.key.len + e.value.len).sum();
        if self.keys.len() + self.values.len() <= 2 * live + 64 {
            return;
        }
        let mut compact = Self {
            keys: String::with_capacity(self.keys.len()),
            values: Vec::with_capacity(live),
            index: Vec::with_capacity(self.index.len()),
        };
        for entry in &self.index {
            let entry = compact.push(self.key(entry), self.value(entry));
            compact.index.push(entry);
        }
        *self = compact;
    }

    pub(crate) fn remove(&mut self, key: &str) -> Option<Vec<u8>> {
        let i = self.position(key).ok()?;
        let entry = self.index.remove(i);
        Some(self.value(&entry).to_vec())
    }

    pub(crate) fn clear(&mut self) {
        self.keys.clear();
        self.values.clear();
        self.index.clear();
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.index.iter().map(|e| (self.key(e), self.value(e)))
    }
}

/// Equal when they hold the same keys and values (unused bytes don't count).
impl PartialEq for Entries {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Entries {}

impl Serialize for Entries {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter().map(|(k, v)| (k, serde_bytes::Bytes::new(v))))
    }
}

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Borrowed from the decrypted body: one small list of slices, then one copy of the keys
        // and one of the values into buffers of exactly the right size.
        let borrowed = Vec::<(&'de str, &'de serde_bytes::Bytes)>::deserialize(deserializer)?;
        if borrowed.windows(2).any(|pair| pair[0].0 >= pair[1].0) {
            return Err(serde::de::Error::custom(
                "session keys out of order or repeated",
            ));
        }
        let mut entries = Self {
            keys: String::with_capacity(borrowed.iter().map(|(k, _)| k.len()).sum()),
            values: Vec::with_capacity(borrowed.iter().map(|(_, v)| v.len()).sum()),
            index: Vec::with_capacity(borrowed.len()),
        };
        for (key, value) in borrowed {
            let entry = entries.push(key, value);
            entries.index.push(entry);
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn entries_encode_as_a_map_and_refuse_disorder() {
        let mut entries = Entries::default();
        for key in ["b", "a", "c", "a"] {
            entries.insert(key, key.as_bytes());
        }
        assert_eq!(
            entries.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        // The same bytes as a `BTreeMap<String, Vec<u8>>` of the same values.
        let map: BTreeMap<String, serde_bytes::ByteBuf> = entries
            .iter()
            .map(|(k, v)| (k.to_owned(), serde_bytes::ByteBuf::from(v.to_vec())))
            .collect();
        let encoded = postcard::to_stdvec(&entries).unwrap();
        assert_eq!(encoded, postcard::to_stdvec(&map).unwrap());
        assert!(postcard::from_bytes::<Entries>(&encoded).unwrap() == entries);
        // Swapped or repeated keys: refused.
        let swapped = [2u8, 1, b'b', 0, 1, b'a', 0];
        let repeated = [2u8, 1, b'a', 0, 1, b'a', 0];
        assert!(postcard::from_bytes::<Entries>(&swapped).is_err());
        assert!(postcard::from_bytes::<Entries>(&repeated).is_err());
    }

    #[test]
    fn replacing_values_in_a_loop_keeps_the_buffer_bounded() {
        let mut entries = Entries::default();
        entries.insert("keep", b"kept");
        for n in 0..10_000u32 {
            entries.insert("n", &n.to_le_bytes());
            if n % 3 == 0 {
                entries.remove("gone");
            } else {
                entries.insert("gone", &[n.to_le_bytes(); 4].concat());
            }
        }
        let held = entries.keys.len() + entries.values.len();
        assert!(held < 256, "{held}");
        assert_eq!(entries.get("n"), Some(9_999u32.to_le_bytes().as_slice()));
        assert_eq!(entries.get("keep"), Some(b"kept".as_slice()));
        assert_eq!(entries.get("gone"), None);
    }
}
