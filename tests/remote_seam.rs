//! The one seam to the account (issue 10): the [`Remote`] conformance suite against the real
//! sandbox over HTTP (the same suite runs against `MemoryRemote` in the unit tests, so the fake
//! cannot drift from the server), and what a run stopped by the disk tells the user.

mod common;

use common::{client, rt, TestServer};
use orange_contacts::remote::conformance;

/// The suite over `serve --page-size 3`, through the HTTP client.
#[test]
fn the_sandbox_over_http_passes_the_remote_conformance_suite() {
    let page_size = conformance::PAGE_SIZE.to_string();
    let server = TestServer::start(&["--page-size", &page_size]);
    let api = client(&server, "conformance");
    rt().block_on(conformance::run(&api));
}
