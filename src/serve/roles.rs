//! `serve --config`: the roles of a configuration file, running side by side in one process.
//!
//! Each [`Role`] has its own credential chain, refresh task, token and last good credentials,
//! and fails alone: until its first credentials arrive, and whenever refreshing them fails and
//! the last ones expired, it answers 503 with the reason while the others go on. Roles that
//! share an identity share one opened key ([`SharedIdentity`]); roles that share a Roles
//! Anywhere session share one CreateSession ([`Shared`]), and their `assume-role` hops branch
//! from it.
//!
//! A reload ([`Running::apply`], at SIGHUP) starts added roles, drops removed ones (404 from
//! then on), replaces changed ones (once the new one has made its first attempt, so the switch
//! is immediate), and leaves unchanged ones as they are: same credentials, same task, no gap.
//! The handlers see one whole set or the other ([`Registry`]), never a mix.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::{oneshot, watch, Notify};

use super::config::{RoleAuth, RoleConfig, ServeConfig};
use super::tokens::TokenKey;
use super::{ContainerToken, Served, State, TokenFile};
use crate::error::{Error, Result};
use rolesanywhere_credentials::credentials::{CredentialSource, Issued};
use rolesanywhere_credentials::pipeline::refresh::{self, Backoff, Deliver, Wake};
use rolesanywhere_credentials::pipeline::{self, Reload, RolesAnywhere, Shared, SharedIdentity};

/// The roles the handlers answer for: swapped whole at each reload.
#[derive(Default)]
pub struct Registry {
    set: RwLock<Arc<RoleSet>>,
}

/// One configuration's roles.
#[derive(Default)]
pub struct RoleSet {
    /// By name.
    pub roles: HashMap<String, Arc<Role>>,
    /// The one answering IMDSv2, if any.
    pub imds: Option<Arc<Role>>,
}

impl Registry {
    /// The roles now.
    pub fn current(&self) -> Arc<RoleSet> {
        Arc::clone(&self.set.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn replace(&self, set: RoleSet) {
        *self.set.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(set);
    }
}

/// One running role.
pub struct Role {
    /// Its name.
    pub name: String,
    /// What its handlers read: credentials, token, role ARN, region.
    pub(super) state: Arc<State>,
    /// Whether it answers the IMDSv2 paths.
    imds: bool,
    /// Why it has no credentials, when the last attempt failed.
    failure: Arc<Mutex<Option<String>>>,
    config: RoleKeys,
    identity: SharedIdentity,
    session: Shared,
    wake: Arc<Wake>,
    /// Cuts short the wait between first attempts.
    kick: Arc<Notify>,
    /// Whether the first credentials arrived (the refresh loop runs).
    started: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

/// What identifies a role's configuration, its identity and its session.
#[derive(Clone, Copy, PartialEq, Eq)]
struct RoleKeys {
    fingerprint: [u8; 32],
    identity: [u8; 32],
    session: [u8; 32],
}

impl Drop for Role {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Role {
    /// Why it has no valid credentials.
    pub fn failure(&self) -> String {
        match lock(&self.failure).as_deref() {
            Some(why) => why.to_string(),
            None if self.started.load(Ordering::SeqCst) => {
                "the credentials expired and refreshing them has not succeeded yet".into()
            }
            None => "the first credentials are being obtained".into(),
        }
    }

    /// Refreshes now, reopening the identity's files first.
    fn poke(&self) {
        if self.started.load(Ordering::SeqCst) {
            self.wake.request();
        } else {
            self.kick.notify_one();
        }
    }
}

/// The roles running now, and what they share.
pub struct Running {
    tokens: Arc<TokenKey>,
    registry: Arc<Registry>,
    roles: BTreeMap<String, Arc<Role>>,
}

impl Running {
    /// No roles yet; IMDSv2 tokens made with `tokens`, roles published to `registry`.
    pub fn new(tokens: Arc<TokenKey>, registry: Arc<Registry>) -> Running {
        Running {
            tokens,
            registry,
            roles: BTreeMap::new(),
        }
    }

    /// How many roles run, and how many of them have no valid credentials now.
    pub fn counts(&self) -> (usize, usize) {
        let failing = self
            .roles
            .values()
            .filter(|r| r.state.current().is_err())
            .count();
        (self.roles.len(), failing)
    }

    /// Makes `config`'s roles the running ones (see the module's documentation), once each
    /// new or changed role has made its first attempt.
    ///
    /// # Errors
    /// When an identity cannot be opened, a token file cannot be read, or a source cannot be
    /// built: nothing changes then.
    pub async fn apply(&mut self, config: ServeConfig) -> Result<()> {
        let path = config.path.clone();
        let fail = |role: &str, e: Error| Error::ServeConfig {
            path: path.clone(),
            detail: format!("[roles.{role}]: {}", e.report()),
        };
        let mut identities: HashMap<[u8; 32], SharedIdentity> = HashMap::new();
        let mut sessions: HashMap<[u8; 32], Shared> = HashMap::new();
        for role in self.roles.values() {
            identities.insert(role.config.identity, role.identity.clone());
            sessions.insert(role.config.session, role.session.clone());
        }

        let mut next = BTreeMap::new();
        let mut started = Vec::new();
        for (name, role) in config.roles {
            let keys = RoleKeys {
                fingerprint: role.fingerprint,
                identity: role.identity_key,
                session: role.session_key,
            };
            if let Some(running) = self.roles.get(&name).filter(|r| r.config == keys) {
                next.insert(name, Arc::clone(running));
                continue;
            }
            let identity = match identities.get(&keys.identity) {
                Some(identity) => identity.clone(),
                None => {
                    let source = role.options.source.clone();
                    let opened = tokio::task::spawn_blocking(move || {
                        SharedIdentity::open(source, Reload::OnChange)
                    })
                    .await
                    .map_err(|e| fail(&name, Error::Usage(format!("opening the key failed: {e}"))))?
                    .map_err(|e| fail(&name, e.into()))?;
                    identities.insert(keys.identity, opened.clone());
                    opened
                }
            };
            let session = match sessions.get(&keys.session) {
                Some(session) => session.clone(),
                None => {
                    let first =
                        RolesAnywhere::with_identity(role.options.clone(), identity.clone())
                            .map_err(|e| fail(&name, e.into()))?;
                    let session = Shared::new(Box::new(first));
                    sessions.insert(keys.session, session.clone());
                    session
                }
            };
            let (running, first) = self
                .start(role, keys, identity, session)
                .map_err(|e| fail(&name, e))?;
            started.push(first);
            next.insert(name, running);
        }
        // The new roles' first attempts, whatever their outcome.
        for first in started {
            let _ = first.await;
        }
        // A renewed certificate is picked up by one role now; the others sharing the identity
        // use it from their next refresh on.
        let mut renewed = Vec::new();
        for role in next.values() {
            if role.identity.files_changed() && !renewed.contains(&role.config.identity) {
                renewed.push(role.config.identity);
                role.poke();
            }
        }

        let imds = next.values().find(|r| r.imds).cloned();
        let set = RoleSet {
            roles: next
                .iter()
                .map(|(name, role)| (name.clone(), Arc::clone(role)))
                .collect(),
            imds,
        };
        for (name, role) in &self.roles {
            match next.get(name) {
                None => rolesanywhere_credentials::notice!("role {name}: removed"),
                Some(kept) if !Arc::ptr_eq(kept, role) => {
                    rolesanywhere_credentials::notice!(
                        "role {name}: changed; now served as configured"
                    )
                }
                Some(_) => {}
            }
        }
        self.registry.replace(set);
        // Dropping the last reference to a removed role stops its refresh task.
        self.roles = next;
        Ok(())
    }

    /// Starts `role`'s refresh task; the receiver completes after its first attempt.
    fn start(
        &self,
        role: RoleConfig,
        keys: RoleKeys,
        identity: SharedIdentity,
        session: Shared,
    ) -> Result<(Arc<Role>, oneshot::Receiver<()>)> {
        let role_arn = role
            .options
            .chain
            .last()
            .map_or(role.options.request.role.as_str(), |hop| hop.role.as_str())
            .to_string();
        let region = role.options.request.endpoint.signing_region.clone();
        let window = role.options.refresh_window;
        let container_token = match role.auth {
            RoleAuth::Token(token) => ContainerToken::Fixed(token),
            RoleAuth::File(path) => {
                ContainerToken::File(TokenFile::open(path.clone()).map_err(|detail| {
                    Error::Usage(format!("token-file: {}: {detail}", path.display()))
                })?)
            }
        };
        let source =
            pipeline::build_from(Box::new(session.branch()), role.options, Reload::OnChange)?;
        let (publish, credentials) = watch::channel(None);
        let state = State::new(&role_arn, credentials, container_token)
            .with_region(&region)
            .with_token_key(Arc::clone(&self.tokens));
        let failure = Arc::new(Mutex::new(None));
        let (wake, kick) = (Arc::new(Wake::default()), Arc::new(Notify::new()));
        let started = Arc::new(AtomicBool::new(false));
        let (first_tx, first_rx) = oneshot::channel();
        let delivery = RoleDelivery {
            name: role.name.clone(),
            role_arn,
            publish,
            failure: Arc::clone(&failure),
        };
        let task = tokio::spawn(refresh_role(
            source,
            delivery,
            window,
            Arc::clone(&wake),
            Arc::clone(&kick),
            Arc::clone(&started),
            first_tx,
        ));
        let running = Role {
            name: role.name,
            state: Arc::new(state),
            imds: role.imds,
            failure,
            config: keys,
            identity,
            session,
            wake,
            kick,
            started,
            task,
        };
        Ok((Arc::new(running), first_rx))
    }
}

/// A role's life: its first credentials (retried with backoff until they come), then
/// [`refresh::keep_fresh`].
async fn refresh_role(
    mut source: Box<dyn CredentialSource>,
    mut delivery: RoleDelivery,
    window: Duration,
    wake: Arc<Wake>,
    kick: Arc<Notify>,
    started: Arc<AtomicBool>,
    first_attempt: oneshot::Sender<()>,
) {
    let mut first_attempt = Some(first_attempt);
    let mut backoff = Backoff::default();
    let first = loop {
        match source.fetch().await {
            Ok(issued) => break Arc::new(issued),
            Err(e) => {
                let error = Error::from(e);
                let retry_in = backoff.next_delay();
                rolesanywhere_credentials::warning!(
                    "role {}: cannot get credentials: {}; answering 503 until it can; retrying in {} s",
                    delivery.name,
                    error.report(),
                    retry_in.as_secs().max(1)
                );
                *lock(&delivery.failure) = Some(error.report());
                if let Some(done) = first_attempt.take() {
                    let _ = done.send(());
                }
                tokio::select! {
                    () = tokio::time::sleep(retry_in) => {}
                    () = kick.notified() => {
                        source.reload();
                        backoff = Backoff::default();
                    }
                }
            }
        }
    };
    delivery.publish(&first);
    rolesanywhere_credentials::notice!(
        "role {}: serving credentials; they expire at {}",
        delivery.name,
        first.credentials.expiration
    );
    started.store(true, Ordering::SeqCst);
    if let Some(done) = first_attempt.take() {
        let _ = done.send(());
    }
    refresh::keep_fresh(source.as_mut(), first, window, &mut delivery, &wake).await;
}

/// Where a role's refreshed credentials go, and what is said about them.
struct RoleDelivery {
    name: String,
    role_arn: String,
    publish: watch::Sender<Option<Arc<Served>>>,
    failure: Arc<Mutex<Option<String>>>,
}

impl RoleDelivery {
    fn publish(&self, issued: &Arc<Issued>) {
        let served = Served::new(Arc::clone(issued), &self.role_arn);
        self.publish.send_replace(Some(Arc::new(served)));
        *lock(&self.failure) = None;
    }
}

impl Deliver for RoleDelivery {
    type Error = Error;

    fn deliver(&mut self, issued: &Arc<Issued>) -> Result<()> {
        self.publish(issued);
        rolesanywhere_credentials::notice!(
            "role {}: credentials refreshed; they expire at {}",
            self.name,
            issued.credentials.expiration
        );
        Ok(())
    }

    fn reloading(&mut self) {
        rolesanywhere_credentials::notice!(
            "role {}: the certificate or key changed: reading them again and refreshing",
            self.name
        );
    }

    fn failed(&mut self, error: &Error, current: &Issued, retry_in: Duration) {
        let state = if current.valid_at(std::time::SystemTime::now()) {
            "still serving the previous ones, which expire at"
        } else {
            "answering 503; the last ones expired at"
        };
        rolesanywhere_credentials::warning!(
            "role {}: cannot refresh credentials: {}; {state} {}; retrying in {} s",
            self.name,
            error.report(),
            current.credentials.expiration,
            retry_in.as_secs().max(1)
        );
        *lock(&self.failure) = Some(error.report());
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing panics while holding it; if something did, the value is still whole.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
