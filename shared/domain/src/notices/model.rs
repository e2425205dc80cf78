//! The validated refund/rebook notice (partners.md §2.2). Money and ratios are exact decimals,
//! dates and times are typed; optional strings that arrived empty are `None` (V16).

use chrono::{NaiveDate, NaiveTime};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// `apply_type`: `"1"` refund / cancellation (退订), `"2"` rebook (改签).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplyType {
    Refund,
    Rebook,
}

impl ApplyType {
    /// The wire value.
    pub fn code(self) -> &'static str {
        match self {
            ApplyType::Refund => "1",
            ApplyType::Rebook => "2",
        }
    }
}

/// `orders[].category`: 6 flight, 8 hotel, 9 train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Flight,
    Hotel,
    Train,
}

impl Category {
    /// The wire value.
    pub fn code(self) -> u8 {
        match self {
            Category::Flight => 6,
            Category::Hotel => 8,
            Category::Train => 9,
        }
    }
}

/// `orders[].type`: `"1"` original order (原单), `"2"` new order (新单, the rebook target).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderType {
    Original,
    New,
}

impl OrderType {
    /// The wire value.
    pub fn code(self) -> &'static str {
        match self {
            OrderType::Original => "1",
            OrderType::New => "2",
        }
    }
}

/// The approval request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Apply {
    /// Fenbeitong approval id: the idempotency key.
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
}

/// The requester.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposer {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_id: Option<String>,
    pub phone: String,
    pub name: String,
    pub dept_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_dept_id: Option<String>,
    pub all_path_dept_name: String,
}

/// Fields that exist for one category only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OrderDetails {
    Flight {
        flight_code: String,
        airline_name: String,
        /// Cabin class *name* (`经济舱`), not a booking-class letter.
        cabin: String,
    },
    Hotel {
        hotel_name: String,
        hotel_address: String,
        room_type: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room_number: Option<u8>,
    },
    Train {
        train_code: String,
        seat_type: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seat_location: Option<String>,
    },
}

/// One order concerned by the notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub category: Category,
    pub order_type: OrderType,
    /// Fenbeitong order id; always present on original (type "1") orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Rebook amount in yuan, exact (at most 2 decimal places, ≥ 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebook_price: Option<Decimal>,
    pub start_city: String,
    pub end_city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_station: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_station: Option<String>,
    /// `start_date` (or its alias `start_data`): departure / check-in date.
    pub start_date: NaiveDate,
    /// `end_date` (or its alias `end_data`): arrival / check-out date.
    pub end_date: NaiveDate,
    /// Required for flights and trains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<NaiveTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<NaiveTime>,
    pub details: OrderDetails,
}

/// The traveller (one object, not a list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_id: Option<String>,
    pub name: String,
    pub phone: String,
    /// 1 ID card … 6 Taiwan travel permit (0 "unknown" only when allowed by options).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_type: Option<u8>,
    /// Possibly masked (`2302*************3`); never validated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_no: Option<String>,
}

/// One cost allocation line (a ratio, no amount).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostAttribution {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_id: Option<String>,
    pub name: String,
    /// In (0, 100], at most 2 decimal places, exact.
    pub weight: Decimal,
}

/// A validated Fenbeitong refund/rebook notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub apply_type: ApplyType,
    pub apply: Apply,
    pub proposer: Proposer,
    pub orders: Vec<Order>,
    pub user: User,
    pub contacter_name: String,
    pub contacter_phone: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cost_attributions: Vec<CostAttribution>,
    /// Lowercase hex SHA-256 of the canonical JSON of the whole body (unknown fields included):
    /// two deliveries are "the same notice" when their digests are equal (V14).
    pub digest: String,
    /// Accepted oddities to log: aliases normalised (V12), same-day hotel stays (V10).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Paths of fields this receiver does not know (V15: accepted and logged), at most 50.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_fields: Vec<String>,
}

impl Notice {
    /// Fenbeitong ids of the original (type "1") orders: what an order lookup matches first.
    pub fn original_order_ids(&self) -> Vec<&str> {
        self.orders.iter().filter(|o| o.order_type == OrderType::Original).filter_map(|o| o.id.as_deref()).collect()
    }

    /// The first original order (every valid notice has one).
    pub fn original_order(&self) -> Option<&Order> {
        self.orders.iter().find(|o| o.order_type == OrderType::Original)
    }
}
