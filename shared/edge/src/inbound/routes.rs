//! The interface routes: one path per interface, identical in local mode and in the SAM
//! template (a test in `busgate-tests` checks the template against this table).

/// One of Fliggy's bus interfaces: Qimen-signed, answered in the bus envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BusRoute {
    FromCities,
    ToCities,
    Lines,
    Seats,
    OrdersCreate,
    OrdersQuery,
    OrdersConfirm,
    OrdersClose,
    RefundsFee,
    RefundsApply,
    StoppedSchedules,
}

/// Every inbound interface: a bus interface, or a partner route with its own envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Route {
    Bus(BusRoute),
    /// Collaboration work orders from Fliggy's customer service.
    Relation,
    /// Fenbeitong's refund/rebook notices.
    FenbeitongNotify,
}

impl From<BusRoute> for Route {
    fn from(b: BusRoute) -> Route {
        Route::Bus(b)
    }
}

impl BusRoute {
    pub const ALL: [BusRoute; 11] = [
        BusRoute::FromCities,
        BusRoute::ToCities,
        BusRoute::Lines,
        BusRoute::Seats,
        BusRoute::OrdersCreate,
        BusRoute::OrdersQuery,
        BusRoute::OrdersConfirm,
        BusRoute::OrdersClose,
        BusRoute::RefundsFee,
        BusRoute::RefundsApply,
        BusRoute::StoppedSchedules,
    ];

    /// The HTTP path (POST).
    pub fn path(self) -> &'static str {
        match self {
            BusRoute::FromCities => "/fliggy/bus/from-cities",
            BusRoute::ToCities => "/fliggy/bus/to-cities",
            BusRoute::Lines => "/fliggy/bus/lines",
            BusRoute::Seats => "/fliggy/bus/seats",
            BusRoute::OrdersCreate => "/fliggy/bus/orders/create",
            BusRoute::OrdersQuery => "/fliggy/bus/orders/query",
            BusRoute::OrdersConfirm => "/fliggy/bus/orders/confirm",
            BusRoute::OrdersClose => "/fliggy/bus/orders/close",
            BusRoute::RefundsFee => "/fliggy/bus/refunds/fee",
            BusRoute::RefundsApply => "/fliggy/bus/refunds/apply",
            BusRoute::StoppedSchedules => "/fliggy/bus/stopped-schedules",
        }
    }

    /// The Lambda binary (`functions/<name>`) serving the interface.
    pub fn function(self) -> &'static str {
        match self {
            BusRoute::FromCities => "from-cities",
            BusRoute::ToCities => "to-cities",
            BusRoute::Lines => "lines",
            BusRoute::Seats => "seats",
            BusRoute::OrdersCreate => "orders-create",
            BusRoute::OrdersQuery => "orders-query",
            BusRoute::OrdersConfirm => "orders-confirm",
            BusRoute::OrdersClose => "orders-close",
            BusRoute::RefundsFee => "refunds-fee",
            BusRoute::RefundsApply => "refunds-apply",
            BusRoute::StoppedSchedules => "stopped-schedules",
        }
    }

    /// The Qimen `method` Fliggy is expected to send (fliggy-bus.md §1.1).
    pub fn default_method(self) -> &'static str {
        match self {
            BusRoute::FromCities => "qimen.alitrip.custombus.product.fromcity.query",
            BusRoute::ToCities => "qimen.alitrip.custombus.product.tocity.query",
            BusRoute::Lines => "qimen.alitrip.custombus.product.number.query",
            BusRoute::Seats => "qimen.alitrip.custombus.product.seat.query",
            BusRoute::OrdersCreate => "qimen.alitrip.custombus.order.create",
            BusRoute::OrdersQuery => "qimen.alitrip.custombus.order.query",
            BusRoute::OrdersConfirm => "qimen.alitrip.custombus.order.confirm",
            BusRoute::RefundsFee => "qimen.alitrip.custombus.return.query",
            BusRoute::RefundsApply => "qimen.alitrip.custombus.return.confirm",
            BusRoute::StoppedSchedules => "qimen.alitrip.custombus.offline.number.query",
            BusRoute::OrdersClose => "qimen.alitrip.custombus.order.close",
        }
    }
}

impl Route {
    pub const ALL: [Route; 13] = [
        Route::Bus(BusRoute::FromCities),
        Route::Bus(BusRoute::ToCities),
        Route::Bus(BusRoute::Lines),
        Route::Bus(BusRoute::Seats),
        Route::Bus(BusRoute::OrdersCreate),
        Route::Bus(BusRoute::OrdersQuery),
        Route::Bus(BusRoute::OrdersConfirm),
        Route::Bus(BusRoute::OrdersClose),
        Route::Bus(BusRoute::RefundsFee),
        Route::Bus(BusRoute::RefundsApply),
        Route::Bus(BusRoute::StoppedSchedules),
        Route::Relation,
        Route::FenbeitongNotify,
    ];

    /// The HTTP path (POST). The Fenbeitong path ends with the company's `{token}`.
    pub fn path(self) -> &'static str {
        match self {
            Route::Bus(b) => b.path(),
            Route::Relation => "/fliggy/relation",
            Route::FenbeitongNotify => "/fenbeitong/notify/{token}",
        }
    }

    /// The Lambda binary (`functions/<name>`) serving the route.
    pub fn function(self) -> &'static str {
        match self {
            Route::Bus(b) => b.function(),
            Route::Relation => "relation",
            Route::FenbeitongNotify => "fenbeitong-notify",
        }
    }

    /// The Qimen `method` Fliggy is expected to send (fliggy-bus.md §1.1); bus interfaces only.
    pub fn default_method(self) -> Option<&'static str> {
        match self {
            Route::Bus(b) => Some(b.default_method()),
            Route::Relation | Route::FenbeitongNotify => None,
        }
    }

    /// `BUSGATE_METHOD_<PATH>`: the path after `/fliggy/bus/`, `/` and `-` as `_`.
    pub fn method_var(self) -> String {
        let tail = self.path().trim_start_matches("/fliggy/bus/").trim_start_matches('/');
        format!("BUSGATE_METHOD_{}", tail.replace(['/', '-'], "_").to_uppercase())
    }

    /// Whether this is one of Fliggy's bus interfaces (Qimen-signed, bus envelope).
    pub fn is_bus(self) -> bool {
        matches!(self, Route::Bus(_))
    }

    /// Finds the route of a request path; the Fenbeitong token comes back separately.
    pub fn from_path(path: &str) -> Option<(Route, Option<&str>)> {
        if let Some(token) = path.strip_prefix("/fenbeitong/notify/") {
            return (!token.is_empty() && !token.contains('/')).then_some((Route::FenbeitongNotify, Some(token)));
        }
        Route::ALL.into_iter().find(|r| r.path() == path).map(|r| (r, None))
    }
}
