//! The hello-world baseline of the start-to-ready benchmark: the smallest lambda_http function,
//! built with the workspace's dependency features and release profile.

use lambda_http::{run, service_fn, Body, Error, Request, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|_req: Request| async {
        Ok::<_, Error>(
            Response::builder().status(200).header("content-type", "application/json").body(Body::from(r#"{"hello":"world"}"#)).expect("response"),
        )
    }))
    .await
}
