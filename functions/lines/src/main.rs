//! Lambda for the `lines` interface: wiring only. It names its interface, so the binary links
//! that handler alone; the handler is shared with local mode.

use busgate_edge::inbound::bus;
use busgate_edge::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::run_bus::<bus::Lines>().await
}
