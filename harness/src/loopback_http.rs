//! The HTTP client the harness, its browser and its reference client talk to loopback servers with.

/// A client builder for loopback servers, which speak plain HTTP: it trusts no certificate at all.
///
/// reqwest's rustls backend (enabled for `capture`, which fetches real HTTPS servers) would
/// otherwise read the platform's whole certificate store for every client built, ~150 files, and
/// the reference client builds several per step: a debug-built catalog run spent most of its time
/// there.
pub fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_certs_only([])
}

/// A client with reqwest's defaults apart from TLS roots; see [`builder`].
pub fn client() -> reqwest::Client {
    builder().build().expect("a plain HTTP client without TLS roots always builds")
}
