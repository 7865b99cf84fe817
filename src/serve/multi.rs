//! `serve --config`: several roles from one process, each behind its own path and token.
//!
//! * `GET /roles/<name>/credentials`: the container credentials protocol for role `<name>`
//!   (what `AWS_CONTAINER_CREDENTIALS_FULL_URI` points to), with that role's token in
//!   `Authorization`: 401 without one, 403 with any other (another role's included), 404 for
//!   a role the file does not name, 503 with the reason while the role has no valid
//!   credentials.
//! * `GET /roles/<name>/healthz` and `GET /healthz` (no token): one role's health, and every
//!   role's (200 only when all have valid credentials).
//! * The IMDSv2 paths of the single-role server, for the role marked `imds = true`, if any.
//!
//! [`run`] binds, starts the roles ([`Running::apply`]) and serves; each SIGHUP reads the file
//! again and applies it, or, when it is invalid, says why on one line and keeps the running
//! configuration.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path as FilePath;
use std::sync::Arc;

use axum::extract::{Path, Request, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use serde::Serialize;

use super::config::{self, Listener, RoleAuth, ServeConfig};
use super::roles::{Registry, Running};
use super::tokens::TokenKey;
use super::ZONE_PATH;
use super::{connections, listen, Health, Listen, Refusal, Served, State};
use super::{CREDENTIALS_PATH, HEALTH_PATH, IDENTITY_DOCUMENT_PATH, REGION_PATH, TOKEN_PATH};
use crate::error::{Error, Result};
use rolesanywhere_credentials::log::Level;

/// Where role `<name>`'s container credentials are.
pub const ROLE_CREDENTIALS_PATH: &str = "/roles/{name}/credentials";
/// Where role `<name>`'s health is.
pub const ROLE_HEALTH_PATH: &str = "/roles/{name}/healthz";

/// The HTTP surface of `serve --config`, answering for the roles in `registry`.
pub fn app(registry: Arc<Registry>) -> Router {
    let credentials = format!("{CREDENTIALS_PATH}/{{role}}");
    Router::new()
        .route(ROLE_CREDENTIALS_PATH, get(role_credentials))
        .route(ROLE_HEALTH_PATH, get(role_health))
        .route(HEALTH_PATH, get(health))
        .route(TOKEN_PATH, put(imds_token))
        .route(&format!("{TOKEN_PATH}/"), put(imds_token))
        .route(CREDENTIALS_PATH, get(imds_role_list))
        .route(&format!("{CREDENTIALS_PATH}/"), get(imds_role_list))
        .route(&credentials, get(imds_credentials))
        .route(&format!("{credentials}/"), get(imds_credentials))
        .route(REGION_PATH, get(imds_region))
        .route(ZONE_PATH, get(imds_zone))
        .route(&format!("{ZONE_PATH}/"), get(imds_zone))
        .route(IDENTITY_DOCUMENT_PATH, get(imds_identity_document))
        .with_state(registry)
}

/// Serves the roles of `config` until SIGINT or SIGTERM; SIGHUP reloads the file. `cli_level`
/// is the log level when the file sets none.
///
/// # Errors
/// When the port cannot be bound, a role's key cannot be opened or its token file read: all
/// fatal, before anything is served. A role whose credentials cannot be obtained is not: it
/// answers 503 and retries, while the others serve.
pub async fn run(config: ServeConfig, listen: Listen, cli_level: Level) -> Result<()> {
    let listener = config.listen.clone();
    let bound = listen::bind(listen, listener.hop_limit, listener.allow_non_loopback).await?;
    let (socket, address, hop_limit) = (bound.listener, bound.address, bound.hop_limit);
    if bound.inherited {
        rolesanywhere_credentials::notice!(
            "listening on {address}, the socket passed by the service manager"
        );
    }
    // Installed before the first CreateSession: a SIGHUP's default action is to end the process.
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(Error::Signal)?;
    let registry = Arc::new(Registry::default());
    let mut running = Running::new(Arc::new(TokenKey::generate()), Arc::clone(&registry));
    let path = config.path.clone();
    let described = Described::of(&config);
    running.apply(config).await?;
    announce(address, &described, &path);
    crate::systemd::ready(&status(address, &running));

    let reloader = tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            reload(&mut running, &path, &listener, address, cli_level).await;
        }
    });
    let stop = async {
        super::shutdown_signal().await;
        crate::systemd::stopping();
        rolesanywhere_credentials::notice!("stopping: signal received");
    };
    let served = connections::serve(socket, app(registry), hop_limit, stop).await;
    reloader.abort();
    served.map_err(|source| Error::ServerStopped { address, source })
}

/// Reads the file again and applies it, or keeps what runs when it cannot.
async fn reload(
    running: &mut Running,
    path: &FilePath,
    listener: &Listener,
    address: SocketAddr,
    cli_level: Level,
) {
    crate::systemd::reloading(&format!("reading {} again", path.display()));
    rolesanywhere_credentials::notice!("reload requested: reading {} again", path.display());
    let applied = match config::load(path) {
        Ok(config) => {
            if config.listen != *listener {
                rolesanywhere_credentials::notice!(
                    "{}: address, port, hop-limit and allow-non-loopback changes take effect when serve is restarted",
                    path.display()
                );
            }
            rolesanywhere_credentials::log::set_level(
                config.log_level.map_or(cli_level, Level::from),
            );
            let roles = config.roles.len();
            running.apply(config).await.map(|()| roles)
        }
        Err(e) => Err(e),
    };
    match applied {
        Ok(roles) => rolesanywhere_credentials::notice!(
            "reloaded {}: serving {roles} role{}",
            path.display(),
            if roles == 1 { "" } else { "s" }
        ),
        Err(e) => rolesanywhere_credentials::warning!(
            "cannot reload: {}; still serving the previous configuration",
            e.report()
        ),
    }
    crate::systemd::ready(&status(address, running));
}

/// The `STATUS=` line systemd shows.
fn status(address: SocketAddr, running: &Running) -> String {
    let (roles, failing) = running.counts();
    format!("serving {roles} roles on http://{address}; {failing} without valid credentials")
}

/// What the operator is told about each role at start-up.
struct Described {
    /// Name, how its workload authenticates, whether it answers IMDSv2.
    roles: Vec<(String, Option<std::path::PathBuf>, bool)>,
}

impl Described {
    fn of(config: &ServeConfig) -> Described {
        let roles = config
            .roles
            .values()
            .map(|role| {
                let file = match &role.auth {
                    RoleAuth::File(file) => Some(file.clone()),
                    RoleAuth::Token(_) => None,
                };
                (role.name.clone(), file, role.imds)
            })
            .collect();
        Described { roles }
    }
}

fn announce(address: SocketAddr, described: &Described, path: &FilePath) {
    let base = format!("http://{address}");
    rolesanywhere_credentials::notice!(
        "serving credentials for {} roles on {base}",
        described.roles.len()
    );
    if !listen::is_loopback(address.ip()) {
        rolesanywhere_credentials::notice!(
            "{} is not a loopback address: anyone who can reach it and holds a role's token gets its credentials",
            address.ip()
        );
    }
    for (name, file, imds) in &described.roles {
        let token = match file {
            Some(file) => format!("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE={}", file.display()),
            None => format!("the token of [roles.{name}] in {}", path.display()),
        };
        rolesanywhere_credentials::notice!(
            "role {name}: export AWS_CONTAINER_CREDENTIALS_FULL_URI={base}/roles/{name}/credentials with {token}"
        );
        if *imds {
            rolesanywhere_credentials::notice!(
                "role {name}: also for SDKs reading IMDS: export AWS_EC2_METADATA_SERVICE_ENDPOINT={base}/"
            );
        }
    }
}

/// `GET /roles/<name>/credentials`.
async fn role_credentials(
    AxumState(registry): AxumState<Arc<Registry>>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    let roles = registry.current();
    let Some(role) = roles.roles.get(&name) else {
        return Refusal::UnknownRole.into_response();
    };
    if let Err(refused) = super::check_authorization(&role.state.container_token, request.headers())
    {
        return refused.into_response();
    }
    match role.state.current() {
        Ok(served) => (super::json_type(), served.container.clone()).into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "no valid credentials for role {}: {}",
                role.name,
                role.failure()
            ),
        )
            .into_response(),
    }
}

/// `GET /roles/<name>/healthz`: as the single-role `/healthz`, for one role.
async fn role_health(
    AxumState(registry): AxumState<Arc<Registry>>,
    Path(name): Path<String>,
) -> Response {
    let roles = registry.current();
    let Some(role) = roles.roles.get(&name) else {
        return Refusal::UnknownRole.into_response();
    };
    let latest = role.state.credentials.borrow().clone();
    let (health, valid) = Health::of(latest.as_deref());
    (code(valid), super::json_type(), super::json(&health)).into_response()
}

/// What `GET /healthz` answers for the whole server.
#[derive(Serialize)]
struct AllHealth<'a> {
    status: &'static str,
    roles: BTreeMap<&'a str, Health<'a>>,
}

/// `GET /healthz`: 200 while every role has valid credentials, else 503; each role's health.
async fn health(AxumState(registry): AxumState<Arc<Registry>>) -> Response {
    let roles = registry.current();
    let latest: Vec<(&str, Option<Arc<Served>>)> = roles
        .roles
        .iter()
        .map(|(name, role)| (name.as_str(), role.state.credentials.borrow().clone()))
        .collect();
    let mut all_valid = true;
    let mut each = BTreeMap::new();
    for (name, served) in &latest {
        let (health, valid) = Health::of(served.as_deref());
        all_valid &= valid;
        each.insert(*name, health);
    }
    let body = AllHealth {
        status: if all_valid {
            "ok"
        } else {
            "some roles have no valid credentials"
        },
        roles: each,
    };
    (code(all_valid), super::json_type(), super::json(&body)).into_response()
}

fn code(valid: bool) -> StatusCode {
    if valid {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// The state of the role answering IMDSv2.
fn imds_state(registry: &Registry) -> Option<Arc<State>> {
    registry
        .current()
        .imds
        .as_ref()
        .map(|role| Arc::clone(&role.state))
}

/// One of the single-role server's IMDSv2 handlers, for the role marked `imds = true`; 404
/// when there is none.
macro_rules! imds {
    ($name:ident => $handler:path) => {
        async fn $name(
            AxumState(registry): AxumState<Arc<Registry>>,
            request: Request,
        ) -> Response {
            match imds_state(&registry) {
                Some(state) => $handler(AxumState(state), request).await,
                None => Refusal::NotFound.into_response(),
            }
        }
    };
}

imds!(imds_token => super::put_token);
imds!(imds_role_list => super::role_list);
imds!(imds_region => super::region);
imds!(imds_zone => super::availability_zone);
imds!(imds_identity_document => super::identity_document);

async fn imds_credentials(
    AxumState(registry): AxumState<Arc<Registry>>,
    role: Path<String>,
    request: Request,
) -> Response {
    match imds_state(&registry) {
        Some(state) => super::role_credentials(AxumState(state), role, request).await,
        None => Refusal::NotFound.into_response(),
    }
}
