//! The writes waiting for Redis: this instance's revocations in order, the ones a server error
//! refused (retried later, without holding up the rest), and the write-backs of a repair
//! (written last).
//!
//! Every revocation queued here gets a sequence number; [`Queue::settled`] tells whether all
//! of them up to a mark are in Redis, which is what a durable acknowledgement waits for.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::keys::Entry;

/// Capacity kept after a drain: a burst's memory goes back, a steady trickle doesn't
/// reallocate.
const KEPT_CAPACITY: usize = 1_024;
/// First wait before a write that Redis refused is tried again; it doubles up to the maximum.
const FIRST_RETRY: Duration = Duration::from_millis(200);
const MAX_RETRY: Duration = Duration::from_secs(30);

/// One write for the writer thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Job {
    /// Append an entry to the stream.
    Write(Entry),
    /// The end of a repair that covers `covered` revocations the queue had no room for.
    RepairDone { covered: u64 },
}

/// A command Redis answered with an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommandError {
    /// The command: `EVAL` (the append script).
    pub(crate) command: &'static str,
    /// Redis's error, e.g. `OOM command not allowed when used memory > 'maxmemory'.`
    pub(crate) error: String,
}

/// Where the writer's batch came from: it reports back how each job went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The front of the queue, in order.
    Queue,
    /// Writes refused before, due again: their sequence numbers, in the batch's order.
    Retry,
    /// A repair's write-backs.
    Repair,
}

/// A batch for the writer: where it came from, and `(sequence number, job)` pairs (0 for
/// repairs).
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) source: Source,
    pub(crate) jobs: Vec<(u64, Job)>,
}

/// What happened to one job of a batch: written, or refused by Redis.
pub(crate) type Outcome = Result<(), CommandError>;

#[derive(Debug)]
struct Refused {
    job: Job,
    attempts: u32,
    due: Instant,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Queue {
    jobs: VecDeque<Job>,
    /// The sequence number of `jobs[0]`.
    front: u64,
    /// Jobs Redis refused with an error, by sequence number: retried with backoff.
    refused: BTreeMap<u64, Refused>,
    repairs: VecDeque<Job>,
    /// Revocations recorded here that had no room in the queue: only a repair writes them.
    unqueued: u64,
    /// A write of the repair being written was refused: at its end it covers nothing.
    repair_refused: bool,
    /// A repair ended with a refused write: another must be made (the reader asks for it).
    redo_repair: bool,
    limit: usize,
}

/// Why a revocation found no room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full;

impl Queue {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            jobs: VecDeque::new(),
            front: 0,
            refused: BTreeMap::new(),
            repairs: VecDeque::new(),
            unqueued: 0,
            repair_refused: false,
            redo_repair: false,
            limit,
        }
    }

    /// Queues a revocation, unless [`Queue::pending`] is at the limit: then it counts as
    /// unqueued, for a repair to write.
    pub(crate) fn push(&mut self, job: Job) -> Result<(), Full> {
        if self.pending() >= self.limit {
            self.unqueued += 1;
            return Err(Full);
        }
        self.jobs.push_back(job);
        Ok(())
    }

    /// Queues a repair's write-backs, ended by a marker for the unqueued revocations it covers.
    #[cfg(test)]
    pub(crate) fn push_repair(&mut self, jobs: impl IntoIterator<Item = Job>, covered: u64) {
        self.extend_repair(jobs);
        self.end_repair(covered);
    }

    /// Queues part of a repair's write-backs (a large repair is queued in parts, so that the
    /// queue's lock, which every logout takes, is never held for all of it).
    pub(crate) fn extend_repair(&mut self, jobs: impl IntoIterator<Item = Job>) {
        self.repairs.extend(jobs);
    }

    /// Ends a repair with a marker for the unqueued revocations it covers.
    pub(crate) fn end_repair(&mut self, covered: u64) {
        self.repairs.push_back(Job::RepairDone { covered });
    }

    /// Revocations of this instance not yet in Redis: queued, or refused and waiting for a
    /// retry.
    pub(crate) fn pending(&self) -> usize {
        self.jobs.len() + self.refused.len()
    }

    /// Whether a repair ended with a write Redis refused since the last call: another one
    /// must write the local copy again.
    pub(crate) fn take_redo_repair(&mut self) -> bool {
        std::mem::take(&mut self.redo_repair)
    }

    /// Revocations that found the queue full and wait for a repair.
    pub(crate) fn unqueued(&self) -> u64 {
        self.unqueued
    }

    /// Refused writes waiting for a retry.
    pub(crate) fn refused(&self) -> usize {
        self.refused.len()
    }

    /// Repair write-backs not yet written.
    pub(crate) fn repairs(&self) -> usize {
        self.repairs.len()
    }

    /// The mark a durable acknowledgement waits for: every revocation queued so far.
    pub(crate) fn mark(&self) -> u64 {
        self.front + self.jobs.len() as u64
    }

    /// Whether every revocation queued so far is in Redis.
    pub(crate) fn settled_now(&self) -> bool {
        self.settled(self.mark())
    }

    /// Whether every revocation queued before `mark` is in Redis.
    pub(crate) fn settled(&self, mark: u64) -> bool {
        mark <= self.settled_mark()
    }

    /// The highest settled mark: every revocation queued before it is in Redis, the one at it
    /// (the front of the queue, or the first refused write) is not yet. It only rises.
    pub(crate) fn settled_mark(&self) -> u64 {
        self.refused
            .first_key_value()
            .map_or(self.front, |(seq, _)| self.front.min(*seq))
    }

    /// When the next refused write is due, if any.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.refused.values().map(|r| r.due).min()
    }

    /// Up to `max` jobs: the front of the queue first, then refused writes that are due, then
    /// repairs. Cloned: they stay here until [`Queue::complete`].
    pub(crate) fn batch(&self, max: usize, now: Instant) -> Option<Batch> {
        if !self.jobs.is_empty() {
            let jobs = (self.front..).zip(self.jobs.iter().take(max).cloned());
            return Some(Batch {
                source: Source::Queue,
                jobs: jobs.collect(),
            });
        }
        let due: Vec<(u64, Job)> = self
            .refused
            .iter()
            .filter(|(_, r)| r.due <= now)
            .take(max)
            .map(|(seq, r)| (*seq, r.job.clone()))
            .collect();
        if !due.is_empty() {
            return Some(Batch {
                source: Source::Retry,
                jobs: due,
            });
        }
        (!self.repairs.is_empty()).then(|| Batch {
            source: Source::Repair,
            jobs: self
                .repairs
                .iter()
                .take(max)
                .map(|j| (0, j.clone()))
                .collect(),
        })
    }

    /// Records how the batch went, one outcome per job: written jobs leave, refused ones wait
    /// for a retry. A refused repair write is dropped, and the repair it belongs to then covers
    /// none of the unqueued revocations and asks for another ([`Queue::take_redo_repair`]):
    /// the next one writes the whole local copy again. Returns the errors, for the log.
    pub(crate) fn complete(
        &mut self,
        batch: Batch,
        outcomes: Vec<Outcome>,
        now: Instant,
    ) -> Vec<CommandError> {
        let mut errors = Vec::new();
        match batch.source {
            Source::Queue => {
                let n = batch.jobs.len();
                for ((seq, _), (job, outcome)) in
                    batch.jobs.iter().zip(self.jobs.drain(..n).zip(outcomes))
                {
                    if let Err(err) = outcome {
                        errors.push(err);
                        self.refused.insert(
                            *seq,
                            Refused {
                                job,
                                attempts: 1,
                                due: now + FIRST_RETRY,
                            },
                        );
                    }
                }
                self.front += n as u64;
            }
            Source::Retry => {
                for ((seq, _), outcome) in batch.jobs.iter().zip(outcomes) {
                    match outcome {
                        Ok(()) => {
                            self.refused.remove(seq);
                        }
                        Err(err) => {
                            errors.push(err);
                            if let Some(r) = self.refused.get_mut(seq) {
                                r.attempts += 1;
                                r.due = now + retry_wait(r.attempts);
                            }
                        }
                    }
                }
            }
            Source::Repair => {
                for ((_, job), outcome) in batch.jobs.iter().zip(outcomes) {
                    self.repairs.pop_front();
                    if let Err(err) = outcome {
                        errors.push(err);
                        self.repair_refused = true;
                    }
                    if let Job::RepairDone { covered } = job {
                        if std::mem::take(&mut self.repair_refused) {
                            self.redo_repair = true;
                        } else {
                            self.unqueued = self.unqueued.saturating_sub(*covered);
                        }
                    }
                }
            }
        }
        if self.jobs.is_empty() && self.jobs.capacity() > KEPT_CAPACITY {
            self.jobs.shrink_to(KEPT_CAPACITY);
        }
        if self.repairs.is_empty() && self.repairs.capacity() > KEPT_CAPACITY {
            self.repairs.shrink_to(KEPT_CAPACITY);
        }
        errors
    }

    /// The entries of refused writes (few: a retry list, bounded by the queue's limit).
    pub(crate) fn refused_entries(&self) -> Vec<Entry> {
        self.refused
            .values()
            .filter_map(|r| entry_of(&r.job))
            .collect()
    }

    /// Everything not yet in Redis, in order: for the shutdown's record.
    pub(crate) fn unwritten(&self) -> Vec<Entry> {
        self.jobs
            .iter()
            .filter_map(entry_of)
            .chain(self.refused_entries())
            .collect()
    }

    /// The allocated capacity of the queue, in jobs (for tests of memory after a drain).
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.jobs.capacity()
    }
}

fn entry_of(job: &Job) -> Option<Entry> {
    match job {
        Job::Write(entry) => Some(entry.clone()),
        Job::RepairDone { .. } => None,
    }
}

fn retry_wait(attempts: u32) -> Duration {
    FIRST_RETRY
        .saturating_mul(1 << attempts.saturating_sub(1).min(16))
        .min(MAX_RETRY)
}

#[cfg(test)]
mod tests {
    use sealed_session::SessionId;
    use sealed_session::codec::UnixTime;

    use super::*;

    fn job(n: u8) -> Job {
        Job::Write(Entry::Session {
            id: SessionId::from_bytes([n; 16]),
            subject: None,
            until: UnixTime::from_secs(100),
        })
    }

    fn refused() -> Outcome {
        Err(CommandError {
            command: "EVAL",
            error: "OOM".into(),
        })
    }

    #[test]
    fn a_refused_write_waits_aside_without_holding_up_the_next() {
        let now = Instant::now();
        let mut queue = Queue::new(10);
        for n in 0..3 {
            queue.push(job(n)).unwrap();
        }
        let mark = queue.mark();
        let batch = queue.batch(2, now).unwrap();
        assert_eq!(batch.source, Source::Queue);
        let errors = queue.complete(batch, vec![Ok(()), refused()], now);
        assert_eq!(errors.len(), 1);
        assert!(!queue.settled(mark));
        assert_eq!(queue.pending(), 2, "one queued, one refused");
        // The job behind the refused one goes next, before the retry is even due.
        let batch = queue.batch(8, now).unwrap();
        assert_eq!((batch.source, batch.jobs.len()), (Source::Queue, 1));
        queue.complete(batch, vec![Ok(())], now);
        assert!(queue.batch(8, now).is_none(), "the retry is not due yet");
        assert!(!queue.settled(mark));
        assert!(
            queue.settled(1),
            "what came before the refused one is settled"
        );
        assert_eq!(queue.settled_mark(), 1, "the refused write holds the mark");
        let later = now + Duration::from_secs(1);
        let batch = queue.batch(8, later).unwrap();
        assert_eq!(batch.source, Source::Retry);
        queue.complete(batch, vec![Ok(())], later);
        assert!(queue.settled(mark));
        assert_eq!(queue.settled_mark(), mark);
        assert_eq!(queue.pending(), 0);
    }

    #[test]
    fn a_full_queue_counts_the_rest_for_a_repair() {
        let now = Instant::now();
        let mut queue = Queue::new(2);
        assert!(queue.push(job(1)).is_ok());
        assert!(queue.push(job(2)).is_ok());
        assert_eq!(queue.push(job(3)), Err(Full));
        assert_eq!(queue.unqueued(), 1);
        queue.push_repair([job(3)], queue.unqueued());
        // Repairs come after the queue.
        let batch = queue.batch(8, now).unwrap();
        assert_eq!(batch.source, Source::Queue);
        queue.complete(batch, vec![Ok(()), Ok(())], now);
        let batch = queue.batch(8, now).unwrap();
        assert_eq!((batch.source, batch.jobs.len()), (Source::Repair, 2));
        queue.complete(batch, vec![Ok(()), Ok(())], now);
        assert_eq!(queue.unqueued(), 0);
        assert_eq!(queue.repairs(), 0);
    }

    #[test]
    fn memory_goes_back_after_a_drain() {
        let now = Instant::now();
        let mut queue = Queue::new(usize::MAX);
        for n in 0..50_000u32 {
            queue.push(job(n.to_le_bytes()[0])).unwrap();
        }
        assert!(queue.capacity() >= 50_000);
        while let Some(batch) = queue.batch(256, now) {
            let outcomes = vec![Ok(()); batch.jobs.len()];
            queue.complete(batch, outcomes, now);
        }
        assert!(queue.capacity() <= KEPT_CAPACITY, "{}", queue.capacity());
    }

    #[test]
    fn retries_back_off_to_a_cap() {
        assert_eq!(retry_wait(1), FIRST_RETRY);
        assert_eq!(retry_wait(2), FIRST_RETRY * 2);
        assert_eq!(retry_wait(40), MAX_RETRY);
    }
}
