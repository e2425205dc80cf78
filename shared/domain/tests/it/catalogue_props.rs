//! Properties of the refund rule and the geofence test.

use busgate_domain::catalogue::*;
use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn d() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 10, 2, 0, 0).unwrap()
}

proptest! {
    #[test]
    fn refund_plus_fee_is_the_price(price in 0i64..=1_000_000_000, ms in -10_000_000i64..400_000_000) {
        let now = d() - Duration::milliseconds(ms);
        let q = refund_quote(&demo_refund_tiers(), price, d(), now);
        prop_assert_eq!(q.refund + q.surcharge, price);
        prop_assert!(q.surcharge >= 0 && q.refund >= 0);
        prop_assert_eq!(q.refundable, q.bar.is_none());
        if q.refundable {
            // The fee never exceeds 25 % and is rounded down.
            prop_assert!(q.surcharge * 4 <= price);
        } else {
            prop_assert_eq!(q.refund, 0);
        }
        if ms < 0 {
            prop_assert_eq!(q.bar, Some(NotRefundable::Departed));
        }
    }

    #[test]
    fn refund_never_decreases_as_departure_nears_less(price in 0i64..=100_000, h1 in 0i64..100, h2 in 0i64..100) {
        let (near, far) = if h1 <= h2 { (h1, h2) } else { (h2, h1) };
        let tiers = demo_refund_tiers();
        let a = refund_quote(&tiers, price, d(), d() - Duration::hours(near));
        let b = refund_quote(&tiers, price, d(), d() - Duration::hours(far));
        prop_assert!(a.refund <= b.refund);
    }

    #[test]
    fn rectangle_contains_exactly_its_closed_area(x in 0i64..=2_000_000, y in 0i64..=2_000_000) {
        // [0.5, 1.5] × [0.5, 1.5] in micro-degrees, tested at 6 decimals.
        let rect: Vec<GeoPoint> = [("0.5", "0.5"), ("1.5", "0.5"), ("1.5", "1.5"), ("0.5", "1.5")]
            .iter().map(|(a, b)| GeoPoint::new(a.parse().unwrap(), b.parse().unwrap())).collect();
        let px = Decimal::new(x, 6);
        let py = Decimal::new(y, 6);
        let inside = (500_000..=1_500_000).contains(&x) && (500_000..=1_500_000).contains(&y);
        prop_assert_eq!(polygon_contains(&rect, px, py), inside);
    }
}
