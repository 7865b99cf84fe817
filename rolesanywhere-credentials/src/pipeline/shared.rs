//! One credential source, several consumers: [`Shared`] holds a source (a CreateSession, say)
//! and hands out [`Branch`]es, each a [`CredentialSource`] of its own, so that several role
//! chains, or several consumers of the same role, make one call where each would have made its
//! own.
//!
//! A branch that needs credentials takes the set another branch obtained since this one last
//! asked, while that set has at least [`REUSE_MARGIN`] left; otherwise it calls the source,
//! while every other branch that asks meanwhile waits for that call's answer instead of making
//! its own (single flight). A branch never gets the same set twice from the source, so a refresh
//! always makes progress, and one asked to reload ([`CredentialSource::reload`], SIGHUP) passes
//! the request on and calls the source whatever the others hold.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::credentials::{CredentialSource, Issued};
use crate::error::Result;

/// A set obtained by another branch is taken only while it has at least this long left.
pub const REUSE_MARGIN: Duration = Duration::from_secs(60);

/// A credential source shared by [`Branch`]es; its clones share it too.
#[derive(Clone)]
pub struct Shared {
    inner: Arc<Inner>,
}

struct Inner {
    /// Held across a call to the source: the single flight.
    source: tokio::sync::Mutex<Box<dyn CredentialSource>>,
    /// The last set the source issued, and how many sets it has issued.
    latest: Mutex<Option<(u64, Issued)>>,
}

impl Shared {
    /// Shares `source`.
    pub fn new(source: Box<dyn CredentialSource>) -> Shared {
        Shared {
            inner: Arc::new(Inner {
                source: tokio::sync::Mutex::new(source),
                latest: Mutex::new(None),
            }),
        }
    }

    /// A new consumer of the source. The source lives as long as its last branch (or the
    /// [`Shared`] itself).
    pub fn branch(&self) -> Branch {
        Branch {
            inner: Arc::clone(&self.inner),
            seen: 0,
            forced: false,
        }
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("branches", &Arc::strong_count(&self.inner))
            .finish_non_exhaustive()
    }
}

/// One consumer of a [`Shared`] source.
pub struct Branch {
    inner: Arc<Inner>,
    /// The generation of the last set this branch handed out (0: none yet).
    seen: u64,
    /// A reload was asked for: call the source at the next fetch, whatever the others hold.
    forced: bool,
}

impl Branch {
    async fn issue(&mut self) -> Result<Issued> {
        if !self.forced {
            if let Some(issued) = self.reusable() {
                return Ok(issued);
            }
        }
        let inner = Arc::clone(&self.inner);
        let mut source = inner.source.lock().await;
        // Another branch may have obtained a set while this one waited for the source.
        if !self.forced {
            if let Some(issued) = self.reusable() {
                return Ok(issued);
            }
        }
        if std::mem::take(&mut self.forced) {
            source.reload();
        }
        let issued = source.fetch().await?;
        let mut latest = lock(&self.inner.latest);
        let generation = latest.as_ref().map_or(0, |(g, _)| *g) + 1;
        *latest = Some((generation, issued.clone()));
        self.seen = generation;
        Ok(issued)
    }

    /// The latest set, when it is newer than this branch's last and not about to expire.
    fn reusable(&mut self) -> Option<Issued> {
        let latest = lock(&self.inner.latest);
        let (generation, issued) = latest.as_ref()?;
        if *generation <= self.seen || !issued.valid_at(SystemTime::now() + REUSE_MARGIN) {
            return None;
        }
        self.seen = *generation;
        Some(issued.clone())
    }
}

impl CredentialSource for Branch {
    fn fetch(&mut self) -> Pin<Box<dyn Future<Output = Result<Issued>> + Send + '_>> {
        Box::pin(self.issue())
    }

    fn reload(&mut self) {
        self.forced = true;
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing panics while holding it; if something did, the value is still whole.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts its calls and reloads; each set expires `lifetime` after it is issued.
    struct Counting {
        calls: Arc<AtomicUsize>,
        reloads: Arc<AtomicUsize>,
        lifetime: Duration,
    }

    impl CredentialSource for Counting {
        fn fetch(&mut self) -> Pin<Box<dyn Future<Output = Result<Issued>> + Send + '_>> {
            Box::pin(async {
                let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
                // A call takes a while, so that concurrent branches wait for it.
                tokio::time::sleep(Duration::from_millis(50)).await;
                let now = SystemTime::now();
                Ok(Issued {
                    credentials: crate::credentials::Credentials {
                        access_key_id: format!("ASIA{n}"),
                        secret_access_key: Default::default(),
                        session_token: Default::default(),
                        expiration: String::new(),
                    },
                    expires_at: now + self.lifetime,
                    last_updated: now,
                })
            })
        }

        fn reload(&mut self) {
            self.reloads.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn shared(lifetime: Duration) -> (Shared, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let (calls, reloads) = (Arc::default(), Arc::default());
        let source = Counting {
            calls: Arc::clone(&calls),
            reloads: Arc::clone(&reloads),
            lifetime,
        };
        (Shared::new(Box::new(source)), calls, reloads)
    }

    #[tokio::test]
    async fn concurrent_branches_share_one_call() {
        let (shared, calls, _) = shared(Duration::from_secs(3600));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..5 {
            let mut branch = shared.branch();
            tasks.spawn(async move { branch.fetch().await.unwrap().credentials.access_key_id });
        }
        while let Some(key) = tasks.join_next().await {
            assert_eq!(key.unwrap(), "ASIA1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_branch_never_gets_the_same_set_twice_from_a_refresh() {
        let (shared, calls, _) = shared(Duration::from_secs(3600));
        let (mut a, mut b) = (shared.branch(), shared.branch());
        assert_eq!(a.fetch().await.unwrap().credentials.access_key_id, "ASIA1");
        // b takes what a obtained; a asking again gets a new set, which b then takes.
        assert_eq!(b.fetch().await.unwrap().credentials.access_key_id, "ASIA1");
        assert_eq!(a.fetch().await.unwrap().credentials.access_key_id, "ASIA2");
        assert_eq!(b.fetch().await.unwrap().credentials.access_key_id, "ASIA2");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn sets_about_to_expire_are_not_taken() {
        let (shared, calls, _) = shared(REUSE_MARGIN / 2);
        let (mut a, mut b) = (shared.branch(), shared.branch());
        a.fetch().await.unwrap();
        assert_eq!(b.fetch().await.unwrap().credentials.access_key_id, "ASIA2");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_reload_reaches_the_source_and_bypasses_the_others_set() {
        let (shared, calls, reloads) = shared(Duration::from_secs(3600));
        let (mut a, mut b) = (shared.branch(), shared.branch());
        a.fetch().await.unwrap();
        b.reload();
        assert_eq!(
            reloads.load(Ordering::SeqCst),
            0,
            "passed on at the next fetch"
        );
        assert_eq!(b.fetch().await.unwrap().credentials.access_key_id, "ASIA2");
        assert_eq!(reloads.load(Ordering::SeqCst), 1);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
