//! Coordinates and geofences, with exact arithmetic.
//!
//! Coordinates are decimals kept as written (`"121.475190"`). Geometry scales every value of
//! a test to one common number of decimals and works on `i128` integers, so a point on an
//! edge is on it exactly: no floats, no rounding (up to 15 decimals, far beyond GPS precision;
//! a value with more is rounded to 15).

use rust_decimal::Decimal;

use super::model::GeoPoint;

/// Most decimals a coordinate may carry in a request (catalogue files allow 6).
pub const MAX_REQUEST_DECIMALS: u32 = 15;
/// Most decimals a coordinate may carry in the catalogue (fliggy-bus.md §3.3).
pub const MAX_CATALOGUE_DECIMALS: u32 = 6;
/// Most points of a geofence.
pub const MAX_GEOFENCE_POINTS: usize = 500;

/// Parses a plain decimal coordinate (`-?digits[.digits]`, at most 15 decimals, no exponent).
pub fn parse_coordinate(text: &str) -> Option<Decimal> {
    let t = text.trim();
    let body = t.strip_prefix('-').unwrap_or(t);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    if int.is_empty() || int.len() > 3 || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Some(f) = frac {
        if f.is_empty() || f.len() > MAX_REQUEST_DECIMALS as usize || !f.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    t.parse::<Decimal>().ok()
}

/// Whether a longitude is within [-180, 180].
pub fn valid_longitude(v: Decimal) -> bool {
    v >= Decimal::from(-180) && v <= Decimal::from(180)
}

/// Whether a latitude is within [-90, 90].
pub fn valid_latitude(v: Decimal) -> bool {
    v >= Decimal::from(-90) && v <= Decimal::from(90)
}

type P = (i128, i128);

/// Scales decimals to integers with `scale` decimals.
fn scaled(v: Decimal, scale: u32) -> i128 {
    let mut v = v.normalize();
    if v.scale() > MAX_REQUEST_DECIMALS {
        v = v.round_dp(MAX_REQUEST_DECIMALS);
    }
    v.mantissa() * 10i128.pow(scale - v.scale())
}

fn common_scale<'a>(values: impl Iterator<Item = &'a Decimal>) -> u32 {
    values.map(|v| v.normalize().scale().min(MAX_REQUEST_DECIMALS)).max().unwrap_or(0)
}

fn to_ints(poly: &[GeoPoint], extra: &[Decimal]) -> (Vec<P>, u32) {
    let scale = common_scale(poly.iter().flat_map(|p| [&p.longitude, &p.latitude]).chain(extra.iter()));
    (poly.iter().map(|p| (scaled(p.longitude, scale), scaled(p.latitude, scale))).collect(), scale)
}

/// Orientation of (a, b, c): >0 anticlockwise, <0 clockwise, 0 collinear.
fn cross(a: P, b: P, c: P) -> i128 {
    (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0)
}

/// Whether c lies on the closed segment a–b, given that a, b, c are collinear.
fn within(a: P, b: P, c: P) -> bool {
    a.0.min(b.0) <= c.0 && c.0 <= a.0.max(b.0) && a.1.min(b.1) <= c.1 && c.1 <= a.1.max(b.1)
}

fn on_segment(a: P, b: P, c: P) -> bool {
    cross(a, b, c) == 0 && within(a, b, c)
}

/// Whether closed segments p1–p2 and q1–q2 share at least one point.
fn segments_meet(p1: P, p2: P, q1: P, q2: P) -> bool {
    let d1 = cross(q1, q2, p1).signum();
    let d2 = cross(q1, q2, p2).signum();
    let d3 = cross(p1, p2, q1).signum();
    let d4 = cross(p1, p2, q2).signum();
    if d1 * d2 < 0 && d3 * d4 < 0 {
        return true;
    }
    (d1 == 0 && within(q1, q2, p1)) || (d2 == 0 && within(q1, q2, p2)) || (d3 == 0 && within(p1, p2, q1)) || (d4 == 0 && within(p1, p2, q2))
}

/// Whether (`lng`, `lat`) lies inside the polygon or on its boundary. A polygon of fewer than
/// 3 points contains nothing.
pub fn polygon_contains(poly: &[GeoPoint], lng: Decimal, lat: Decimal) -> bool {
    if poly.len() < 3 {
        return false;
    }
    let (pts, scale) = to_ints(poly, &[lng, lat]);
    let p = (scaled(lng, scale), scaled(lat, scale));
    let n = pts.len();
    let mut inside = false;
    for i in 0..n {
        let a = pts[i];
        let b = pts[(i + 1) % n];
        if on_segment(a, b, p) {
            return true;
        }
        if (a.1 > p.1) != (b.1 > p.1) {
            // The edge crosses the horizontal line through p; is the crossing right of p?
            // p.x < a.x + (p.y - a.y)(b.x - a.x)/(b.y - a.y), without dividing.
            let dy = b.1 - a.1;
            let lhs = (p.0 - a.0) * dy;
            let rhs = (p.1 - a.1) * (b.0 - a.0);
            let right = if dy > 0 { lhs < rhs } else { lhs > rhs };
            if right {
                inside = !inside;
            }
        }
    }
    inside
}

/// Checks that a geofence is a simple polygon: ≥ 3 distinct points, first point not repeated,
/// a non-zero area, and no two edges crossing or touching (other than neighbours at their
/// shared point). Returns every problem found (empty = valid).
pub fn geofence_problems(poly: &[GeoPoint]) -> Vec<String> {
    let mut problems = Vec::new();
    if poly.len() < 3 {
        problems.push(format!("a geofence needs at least 3 points, found {}", poly.len()));
        return problems;
    }
    if poly.len() > MAX_GEOFENCE_POINTS {
        problems.push(format!("a geofence has at most {MAX_GEOFENCE_POINTS} points"));
        return problems;
    }
    let (pts, _) = to_ints(poly, &[]);
    let n = pts.len();
    for j in 1..n {
        if let Some(i) = (0..j).find(|&i| pts[i] == pts[j]) {
            if i == 0 && j == n - 1 {
                problems.push(format!("point {j} repeats point 0: do not close the ring, the last point joins the first"));
            } else {
                problems.push(format!("point {j} repeats point {i}"));
            }
        }
    }
    if !problems.is_empty() {
        return problems;
    }
    if (2..n).all(|i| cross(pts[0], pts[1], pts[i]) == 0) {
        problems.push("the points enclose no area (they are collinear)".to_string());
        return problems;
    }
    let edge = |i: usize| (pts[i], pts[(i + 1) % n]);
    let name = |i: usize| format!("{}→{}", i, (i + 1) % n);
    for i in 0..n {
        for j in (i + 1)..n {
            let (p1, p2) = edge(i);
            let (q1, q2) = edge(j);
            let adjacent = j == i + 1 || (i == 0 && j == n - 1);
            if adjacent {
                // Neighbours share one point; they must not overlap along a line.
                let (shared, a, b) = if j == i + 1 { (p2, p1, q2) } else { (p1, p2, q1) };
                if cross(a, shared, b) == 0 && (within(shared, a, b) || within(shared, b, a)) {
                    problems.push(format!("edges {} and {} fold back on each other", name(i), name(j)));
                }
            } else if segments_meet(p1, p2, q1, q2) {
                problems.push(format!("edges {} and {} cross", name(i), name(j)));
            }
        }
    }
    if problems.is_empty() {
        let area2: i128 = (0..n)
            .map(|i| {
                let (a, b) = (pts[i], pts[(i + 1) % n]);
                a.0 * b.1 - b.0 * a.1
            })
            .sum();
        if area2 == 0 {
            problems.push("the points enclose no area (they are collinear)".to_string());
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }
    fn poly(points: &[(&str, &str)]) -> Vec<GeoPoint> {
        points.iter().map(|(x, y)| GeoPoint::new(d(x), d(y))).collect()
    }

    #[test]
    fn square_contains_inside_boundary_not_outside() {
        let sq = poly(&[("0", "0"), ("2", "0"), ("2", "2"), ("0", "2")]);
        assert!(polygon_contains(&sq, d("1"), d("1")));
        assert!(polygon_contains(&sq, d("0"), d("1")));
        assert!(polygon_contains(&sq, d("2"), d("2")));
        assert!(polygon_contains(&sq, d("1.999999999"), d("0.000000001")));
        assert!(!polygon_contains(&sq, d("2.000001"), d("1")));
        assert!(!polygon_contains(&sq, d("-0.1"), d("0")));
    }

    #[test]
    fn bowtie_is_rejected() {
        let bow = poly(&[("0", "0"), ("2", "2"), ("2", "0"), ("0", "2")]);
        assert!(!geofence_problems(&bow).is_empty());
    }

    #[test]
    fn coordinates_parse_strictly() {
        assert_eq!(parse_coordinate("121.475190").unwrap().to_string(), "121.475190");
        assert!(parse_coordinate("1e5").is_none());
        assert!(parse_coordinate("121.").is_none());
        assert!(parse_coordinate("abc").is_none());
        assert!(parse_coordinate("-33.5").is_some());
    }
}
