//! The Fliggy bus interfaces: each handler reads its fields, calls the domain and returns the
//! data of a success or a [`Failure`]; the pipeline does everything around it.

use busgate_domain::store::StoreError;
use busgate_wire::fliggy::{Data, Failure, RetCode};
use busgate_wire::json::Fields;

use crate::app::App;
use crate::config::{Config, Requirement};
use crate::inbound::routes::BusRoute;

mod catalogue;
mod orders;
mod refunds;

pub type Answer = Result<Data, Failure>;

/// A handler's answer, boxed so that one interface can be named as a type.
pub type BusFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Answer> + Send + 'a>>;

/// One bus interface as a type: a Lambda that names it links its handler and nothing of the
/// other interfaces (the pipeline is generic over it).
pub trait Interface: Send + Sync + 'static {
    const ROUTE: BusRoute;
    /// What its function needs configured.
    const NEEDS: &'static [Requirement];
    fn call<'a>(app: &'a App, f: Fields<'a>) -> BusFuture<'a>;
    /// Its AWS wiring: a catalogue read never hands anything to the outbox queue, so its
    /// function is built without a queue client (and links none).
    fn connect(config: Config) -> impl std::future::Future<Output = App> + Send;
}

macro_rules! wiring {
    (reads, $config:expr) => {
        App::aws_reader($config)
    };
    (writes, $config:expr) => {
        App::aws_function($config)
    };
}

macro_rules! needs {
    (reads) => {
        &[Requirement::QimenSecret]
    };
    (writes) => {
        &[Requirement::QimenSecret, Requirement::Queue]
    };
}

macro_rules! interfaces {
    ($($ty:ident => $route:ident, $kind:ident, $handler:path;)*) => {
        $(
            #[doc = concat!("The `", stringify!($route), "` interface.")]
            pub struct $ty;
            impl Interface for $ty {
                const ROUTE: BusRoute = BusRoute::$route;
                const NEEDS: &'static [Requirement] = needs!($kind);
                fn call<'a>(app: &'a App, f: Fields<'a>) -> BusFuture<'a> {
                    Box::pin($handler(app, f))
                }
                async fn connect(config: Config) -> App {
                    wiring!($kind, config)
                }
            }
        )*

        /// Every bus interface on one process (local mode).
        pub async fn dispatch(app: &App, route: BusRoute, f: Fields<'_>) -> Answer {
            match route {
                $(BusRoute::$route => $ty::call(app, f).await,)*
            }
        }
    };
}

interfaces! {
    FromCities => FromCities, reads, catalogue::from_cities;
    ToCities => ToCities, reads, catalogue::to_cities;
    Lines => Lines, reads, catalogue::lines;
    Seats => Seats, reads, catalogue::seats;
    StoppedSchedules => StoppedSchedules, reads, catalogue::stopped_schedules;
    OrdersCreate => OrdersCreate, writes, orders::create;
    OrdersQuery => OrdersQuery, writes, orders::query;
    OrdersConfirm => OrdersConfirm, writes, orders::confirm;
    OrdersClose => OrdersClose, writes, orders::close;
    RefundsFee => RefundsFee, writes, refunds::fee;
    RefundsApply => RefundsApply, writes, refunds::apply;
}

/// A store failure answers `system-error`, which Fliggy may safely retry (§2.4).
pub(crate) fn store_failure(e: StoreError) -> Failure {
    tracing::error!(error = %e, "store failure");
    Failure::plain(RetCode::SystemError)
}
