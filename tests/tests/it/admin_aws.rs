//! The operator's commands against the AWS adapters: the same `AdminCommand`s that
//! `busgate … --target aws` runs, on DynamoDB Local and SQS (moto), through `App::aws`.

use busgate_cli::admin::{execute, AdminCommand};
use busgate_domain::catalogue::demo_catalogue;
use busgate_domain::outbox::CallbackStatus;
use busgate_domain::queue::{Lane, Queue};
use busgate_edge::{App, Config};
use busgate_tests::{emulator_queue, emulator_store};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalogue_import_stop_and_outbox_on_dynamodb_and_sqs() {
    let Some(table) = emulator_store().await else { return };
    let Some(queue) = emulator_queue(30, 5).await else { return };
    let (queue_url, dlq_url) = queue.urls();
    let env = [("BUSGATE_TABLE", table.table().to_string()), ("BUSGATE_QUEUE_URL", queue_url.to_string()), ("BUSGATE_DLQ_URL", dlq_url.to_string())];
    let config = Config::from_lookup(&|k| env.iter().find(|(ek, _)| *ek == k).map(|(_, v)| v.clone())).unwrap();
    let app = App::aws(config).await;

    let today = app.clock.now().with_timezone(&busgate_domain::gmt8()).date_naive();
    let text = demo_catalogue(today).to_json();
    let import = |dry_run| AdminCommand::CatalogueImport { file_name: "demo.json".into(), text: text.clone(), dry_run };
    let first = execute(&app, import(false), &|_, _| {}).await.expect("import");
    assert!(first.json.to_string().contains("created"), "{}", first.json);
    // Idempotent: the same file again writes nothing.
    let again = execute(&app, import(false), &|_, _| {}).await.expect("re-import");
    assert_eq!(again.json["writes"], 0, "{}", again.json);

    // The notify callbacks of the import went to SQS.
    let msgs = queue.receive(Lane::Main, 10, 2).await.unwrap();
    assert!(!msgs.is_empty(), "item.notify callbacks handed to the queue");

    // Stop a departure: recorded, and visible as pending callbacks in the outbox.
    let listed = busgate_domain::catalogue::list_departures(
        app.store.as_ref(),
        &busgate_domain::catalogue::LinesQuery { from_city: "上海市".into(), ..Default::default() },
        app.clock.now(),
    )
    .await
    .unwrap();
    let sid = listed.first().expect("an on-sale demo departure").departure.schedule_id.clone();
    execute(&app, AdminCommand::CatalogueStop { schedule_id: sid.clone(), reason: "车辆故障".into(), refund: false }, &|_, _| {})
        .await
        .expect("stop");
    let stopped = busgate_domain::catalogue::load_departure(app.store.as_ref(), &sid).await.unwrap().unwrap().0;
    assert_eq!(stopped.stop.as_ref().map(|s| s.reason.clone()), Some("车辆故障".to_string()));
    let pending = execute(&app, AdminCommand::OutboxList { statuses: vec![CallbackStatus::Pending], last: None }, &|_, _| {}).await.unwrap();
    assert!(pending.text.contains("taobao.bus.item.notify"), "{}", pending.text);
    table.drop_table().await.unwrap();
}
