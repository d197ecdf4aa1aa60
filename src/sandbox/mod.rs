//! STUB (lead), replaced by the sandbox helper's module.
use std::path::PathBuf;
use std::time::Duration;
#[derive(Debug, Clone, Default)]
pub struct SandboxConfig {
    pub db: PathBuf,
    pub page_size: Option<u32>,
    pub paging: bool,
    pub max_rps: Option<u32>,
    pub fail_rate: f64,
    pub latency: Duration,
    pub service_auth: Option<(String, String)>,
    pub max_picture_bytes: usize,
    pub fault_seed: Option<u64>,
}
pub struct SandboxHandle {
    pub endpoint: String,
}
impl SandboxHandle {
    pub async fn shutdown(self) {}
}
pub async fn start(_c: SandboxConfig, _l: tokio::net::TcpListener) -> anyhow::Result<SandboxHandle> {
    anyhow::bail!("stub")
}
pub mod store {
    pub struct Store;
    impl Store {
        pub fn open(_p: &std::path::Path) -> anyhow::Result<Store> {
            anyhow::bail!("stub")
        }
        pub fn token_for(&self, _u: &str) -> anyhow::Result<String> {
            anyhow::bail!("stub")
        }
    }
}
