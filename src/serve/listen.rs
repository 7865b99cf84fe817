//! Where `serve` listens: a socket it binds (`--address`, `--port`) or one the service manager
//! passed (socket activation), and the hop limit (IP TTL) every packet it sends carries.
//!
//! Loopback is the default and the rule: a non-loopback address needs `--allow-non-loopback`,
//! and then the hop limit defaults to 1, as the EC2 instance metadata service's does, so answers
//! cannot cross a router. A socket passed by the service manager obeys the same rule.

use std::net::{IpAddr, SocketAddr, TcpListener as StdListener};

use socket2::SockRef;
use tokio::net::{TcpListener, TcpStream};

use crate::error::{Error, Result};
use crate::systemd::ActivationError;

/// Default `--hop-limit` on loopback.
pub const DEFAULT_HOP_LIMIT: u8 = 64;
/// Default `--hop-limit` on any other address, as the IMDS's.
pub const NON_LOOPBACK_HOP_LIMIT: u8 = 1;

/// Where to listen, as the command line and the environment say.
#[derive(Debug)]
pub enum Listen {
    /// Bind this address.
    Bind(SocketAddr),
    /// Serve on a listening socket the service manager passed.
    Inherited(StdListener),
}

/// A bound listener and what it was set up with.
#[derive(Debug)]
pub struct Bound {
    /// The listener, its hop limit set.
    pub listener: TcpListener,
    /// The address it listens on.
    pub address: SocketAddr,
    /// The IP TTL (IPv6 hop limit) of every packet sent.
    pub hop_limit: u8,
    /// Whether the service manager passed it.
    pub inherited: bool,
}

/// Whether `ip` is a loopback address (`127.0.0.0/8`, `::1`, `::ffff:127.x.y.z`).
pub fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// Binds (or adopts) the listener and sets its hop limit: `hop_limit` when given, else
/// [`DEFAULT_HOP_LIMIT`] on loopback and [`NON_LOOPBACK_HOP_LIMIT`] elsewhere.
///
/// # Errors
/// A busy port, an address that cannot be bound, or a non-loopback address (bound or
/// inherited) without `allow_non_loopback`.
pub async fn bind(
    listen: Listen,
    hop_limit: Option<u8>,
    allow_non_loopback: bool,
) -> Result<Bound> {
    let (listener, inherited) = match listen {
        Listen::Bind(address) => {
            if !is_loopback(address.ip()) && !allow_non_loopback {
                return Err(non_loopback(address, false));
            }
            let listener = TcpListener::bind(address).await.map_err(|e| {
                if e.kind() == std::io::ErrorKind::AddrInUse {
                    Error::PortInUse { address }
                } else {
                    Error::Listen { address, source: e }
                }
            })?;
            (listener, false)
        }
        Listen::Inherited(listener) => {
            let address = listener
                .local_addr()
                .map_err(|e| Error::SocketActivation(ActivationError::NotTcp(e)))?;
            if !is_loopback(address.ip()) && !allow_non_loopback {
                return Err(non_loopback(address, true));
            }
            listener
                .set_nonblocking(true)
                .and_then(|()| TcpListener::from_std(listener))
                .map(|listener| (listener, true))
                .map_err(|source| Error::Listen { address, source })?
        }
    };
    let address = listener.local_addr().map_err(|source| Error::Listen {
        address: SocketAddr::from(([0, 0, 0, 0], 0)),
        source,
    })?;
    let hop_limit = hop_limit.unwrap_or(if is_loopback(address.ip()) {
        DEFAULT_HOP_LIMIT
    } else {
        NON_LOOPBACK_HOP_LIMIT
    });
    // Connections accepted on Linux inherit the listening socket's TTL, so even the SYN-ACK
    // carries it; each accepted connection is set again too ([`set_hop_limit`]), as the
    // official helper does, for platforms where it is not inherited.
    set_hop_limit(SockRef::from(&listener), address, hop_limit)
        .map_err(|source| Error::Listen { address, source })?;
    Ok(Bound {
        listener,
        address,
        hop_limit,
        inherited,
    })
}

/// Sets the hop limit of an accepted connection (a `--debug` line if that fails).
pub fn set_connection_hop_limit(tcp: &TcpStream, hop_limit: u8) {
    let Ok(address) = tcp.local_addr() else {
        return;
    };
    if let Err(e) = set_hop_limit(SockRef::from(tcp), address, hop_limit) {
        rolesanywhere_credentials::debug!(
            "cannot set the hop limit of a connection to {hop_limit}: {e}"
        );
    }
}

/// IPv4 packets carry it as their TTL, IPv6 ones as their hop limit (IPv4-mapped addresses on an
/// IPv6 socket take both).
fn set_hop_limit(socket: SockRef<'_>, address: SocketAddr, hop_limit: u8) -> std::io::Result<()> {
    let hops = u32::from(hop_limit);
    match address {
        SocketAddr::V4(_) => socket.set_ttl_v4(hops),
        SocketAddr::V6(_) => {
            socket.set_unicast_hops_v6(hops)?;
            // Also IPv4 traffic on a dual-stack socket; refused on an IPv6-only one, harmlessly.
            let _ = socket.set_ttl_v4(hops);
            Ok(())
        }
    }
}

fn non_loopback(address: SocketAddr, inherited: bool) -> Error {
    Error::NonLoopback { address, inherited }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_addresses() {
        for ip in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            assert!(is_loopback(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["0.0.0.0", "::", "10.0.0.1", "fd00::1", "::ffff:10.0.0.1"] {
            assert!(!is_loopback(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn hop_limit_defaults_to_64_on_loopback_and_1_elsewhere() {
        let local = bind(Listen::Bind("127.0.0.1:0".parse().unwrap()), None, false)
            .await
            .unwrap();
        assert_eq!(local.hop_limit, 64);
        assert_eq!(SockRef::from(&local.listener).ttl_v4().unwrap(), 64);
        let wide = bind(Listen::Bind("0.0.0.0:0".parse().unwrap()), None, true)
            .await
            .unwrap();
        assert_eq!(wide.hop_limit, 1);
        assert_eq!(SockRef::from(&wide.listener).ttl_v4().unwrap(), 1);
        let chosen = bind(Listen::Bind("0.0.0.0:0".parse().unwrap()), Some(5), true)
            .await
            .unwrap();
        assert_eq!(SockRef::from(&chosen.listener).ttl_v4().unwrap(), 5);
    }

    #[tokio::test]
    async fn ipv6_loopback_sets_the_hop_limit() {
        let bound = bind(Listen::Bind("[::1]:0".parse().unwrap()), Some(7), false)
            .await
            .unwrap();
        assert_eq!(SockRef::from(&bound.listener).unicast_hops_v6().unwrap(), 7);
    }

    #[tokio::test]
    async fn non_loopback_needs_the_flag_bound_or_inherited() {
        let refused = bind(Listen::Bind("0.0.0.0:0".parse().unwrap()), None, false).await;
        assert!(matches!(
            refused,
            Err(Error::NonLoopback {
                inherited: false,
                ..
            })
        ));
        let wide = StdListener::bind("0.0.0.0:0").unwrap();
        let refused = bind(Listen::Inherited(wide), None, false).await;
        assert!(matches!(
            refused,
            Err(Error::NonLoopback {
                inherited: true,
                ..
            })
        ));
    }
}
