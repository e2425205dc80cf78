//! The interface routes: one path per interface, identical in local mode and in the SAM
//! template (a test in `busgate-tests` checks the template against this table).

/// Every inbound interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Route {
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
    Relation,
    FenbeitongNotify,
}

impl Route {
    pub const ALL: [Route; 13] = [
        Route::FromCities,
        Route::ToCities,
        Route::Lines,
        Route::Seats,
        Route::OrdersCreate,
        Route::OrdersQuery,
        Route::OrdersConfirm,
        Route::OrdersClose,
        Route::RefundsFee,
        Route::RefundsApply,
        Route::StoppedSchedules,
        Route::Relation,
        Route::FenbeitongNotify,
    ];

    /// The HTTP path (POST). The Fenbeitong path ends with the company's `{token}`.
    pub fn path(self) -> &'static str {
        match self {
            Route::FromCities => "/fliggy/bus/from-cities",
            Route::ToCities => "/fliggy/bus/to-cities",
            Route::Lines => "/fliggy/bus/lines",
            Route::Seats => "/fliggy/bus/seats",
            Route::OrdersCreate => "/fliggy/bus/orders/create",
            Route::OrdersQuery => "/fliggy/bus/orders/query",
            Route::OrdersConfirm => "/fliggy/bus/orders/confirm",
            Route::OrdersClose => "/fliggy/bus/orders/close",
            Route::RefundsFee => "/fliggy/bus/refunds/fee",
            Route::RefundsApply => "/fliggy/bus/refunds/apply",
            Route::StoppedSchedules => "/fliggy/bus/stopped-schedules",
            Route::Relation => "/fliggy/relation",
            Route::FenbeitongNotify => "/fenbeitong/notify/{token}",
        }
    }

    /// The Lambda binary (`functions/<name>`) serving the route.
    pub fn function(self) -> &'static str {
        match self {
            Route::FromCities => "from-cities",
            Route::ToCities => "to-cities",
            Route::Lines => "lines",
            Route::Seats => "seats",
            Route::OrdersCreate => "orders-create",
            Route::OrdersQuery => "orders-query",
            Route::OrdersConfirm => "orders-confirm",
            Route::OrdersClose => "orders-close",
            Route::RefundsFee => "refunds-fee",
            Route::RefundsApply => "refunds-apply",
            Route::StoppedSchedules => "stopped-schedules",
            Route::Relation => "relation",
            Route::FenbeitongNotify => "fenbeitong-notify",
        }
    }

    /// The Qimen `method` Fliggy is expected to send (fliggy-bus.md §1.1).
    pub fn default_method(self) -> Option<&'static str> {
        Some(match self {
            Route::FromCities => "qimen.alitrip.custombus.product.fromcity.query",
            Route::ToCities => "qimen.alitrip.custombus.product.tocity.query",
            Route::Lines => "qimen.alitrip.custombus.product.number.query",
            Route::Seats => "qimen.alitrip.custombus.product.seat.query",
            Route::OrdersCreate => "qimen.alitrip.custombus.order.create",
            Route::OrdersQuery => "qimen.alitrip.custombus.order.query",
            Route::OrdersConfirm => "qimen.alitrip.custombus.order.confirm",
            Route::RefundsFee => "qimen.alitrip.custombus.return.query",
            Route::RefundsApply => "qimen.alitrip.custombus.return.confirm",
            Route::StoppedSchedules => "qimen.alitrip.custombus.offline.number.query",
            Route::OrdersClose => "qimen.alitrip.custombus.order.close",
            Route::Relation | Route::FenbeitongNotify => return None,
        })
    }

    /// `BUSGATE_METHOD_<PATH>`: the path after `/fliggy/bus/`, `/` and `-` as `_`.
    pub fn method_var(self) -> String {
        let tail = self.path().trim_start_matches("/fliggy/bus/").trim_start_matches('/');
        format!("BUSGATE_METHOD_{}", tail.replace(['/', '-'], "_").to_uppercase())
    }

    /// Whether this is one of Fliggy's bus interfaces (Qimen-signed, bus envelope).
    pub fn is_bus(self) -> bool {
        self.default_method().is_some()
    }

    /// Finds the route of a request path; the Fenbeitong token comes back separately.
    pub fn from_path(path: &str) -> Option<(Route, Option<&str>)> {
        if let Some(token) = path.strip_prefix("/fenbeitong/notify/") {
            return (!token.is_empty() && !token.contains('/')).then_some((Route::FenbeitongNotify, Some(token)));
        }
        Route::ALL.into_iter().find(|r| r.path() == path).map(|r| (r, None))
    }
}
