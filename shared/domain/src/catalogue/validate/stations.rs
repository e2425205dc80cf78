//! A line's stations (points and areas, geofences), segment prices and transfer points.

use super::{Reader, MAX_FEN, MAX_NAME, MAX_PRESELL_MINUTES, MAX_TEXT};
use crate::catalogue::geo;
use crate::catalogue::model::{City, GeoPoint, SegmentPrice, Station, StationType, TransferPoint};
use busgate_json::Node;

impl Reader {
    pub(super) fn stations(&mut self, items: &[Node], path: &str, cities: &[City]) -> Option<Vec<Station>> {
        const KEYS: &[&str] = &[
            "seq",
            "stationCode",
            "stationName",
            "cityCode",
            "cityName",
            "stationAddress",
            "stationType",
            "longitude",
            "latitude",
            "geofence",
            "stationFeature",
            "boarding",
            "alighting",
            "offsetMinutes",
        ];
        let before = self.problems.len();
        if items.len() < 2 {
            self.problem(path, "a line needs at least 2 stations");
        }
        let mut out: Vec<Station> = Vec::new();
        let mut last_offset: Option<(usize, u32)> = None;
        for (i, n) in items.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let Some(o) = self.object(n, &p, KEYS) else { continue };
            if let Some(seq) = self.uint(&o, "seq", false, 0, 100_000) {
                if seq != i as u64 + 1 {
                    self.problem(o.path("seq"), format!("must be {} (stations are listed in order)", i + 1));
                }
            }
            let code = self.id(&o, "stationCode", true);
            if let Some(c) = &code {
                if let Some(j) = out.iter().position(|s| &s.station_code == c) {
                    self.problem(o.path("stationCode"), format!("{c} is already used by {path}[{j}]"));
                }
            }
            let name = self.string(&o, "stationName", true, MAX_NAME);
            let city_code = self.city_code(&o, "cityCode");
            let unknown_city;
            let city = match city_code.as_ref() {
                None => None,
                Some(c) => match cities.iter().find(|x| &x.code == c) {
                    Some(found) => Some(found),
                    None => {
                        if !cities.is_empty() {
                            self.problem(o.path("cityCode"), format!("city {c} is not declared in cities"));
                        }
                        // Without a city list (already reported) keep checking the rest.
                        unknown_city = City { code: c.clone(), name: c.clone(), province: String::new() };
                        Some(&unknown_city)
                    }
                },
            };
            if let (Some(city), Some(given)) = (city, self.string(&o, "cityName", false, MAX_NAME)) {
                if given != city.name {
                    self.problem(o.path("cityName"), format!("{given} is not the name of city {} ({})", city.code, city.name));
                }
            }
            let address = self.string(&o, "stationAddress", false, MAX_TEXT);
            let feature = self.string(&o, "stationFeature", false, MAX_NAME);
            let boarding = self.boolean(&o, "boarding", true);
            let alighting = self.boolean(&o, "alighting", true);
            let offset = self.uint(&o, "offsetMinutes", true, 0, MAX_PRESELL_MINUTES).map(|v| v as u32);
            if let Some(off) = offset {
                if i == 0 && off != 0 {
                    self.problem(o.path("offsetMinutes"), "must be 0 at the first station (D is the departure from it)");
                }
                if let Some((j, prev)) = last_offset {
                    if off < prev {
                        self.problem(o.path("offsetMinutes"), format!("{off} is earlier than {prev} at {path}[{j}]"));
                    }
                }
                last_offset = Some((i, off));
            }
            let kind = match self.uint(&o, "stationType", true, 0, 255) {
                Some(c) => {
                    let k = StationType::from_code(c as u8);
                    if k.is_none() {
                        self.problem(o.path("stationType"), format!("must be 1 (fixed point) or 2 (area with a geofence), not {c}"));
                    }
                    k
                }
                None => None,
            };
            let (mut longitude, mut latitude, mut geofence) = (None, None, Vec::new());
            match kind {
                Some(StationType::Point) => {
                    longitude = self.coordinate(&o, "longitude", true, false);
                    latitude = self.coordinate(&o, "latitude", true, true);
                    if o.get("geofence").is_some() {
                        self.problem(o.path("geofence"), "only an area (stationType 2) has a geofence");
                    }
                }
                Some(StationType::Area) => {
                    for k in ["longitude", "latitude"] {
                        if o.get(k).is_some() {
                            self.problem(o.path(k), "an area (stationType 2) is given by its geofence, not by a point");
                        }
                    }
                    if let Some(points) = self.array(&o, "geofence", true) {
                        geofence = self.geofence(points, &o.path("geofence"));
                    }
                }
                None => {}
            }
            let (Some(code), Some(name), Some(city), Some(boarding), Some(alighting), Some(kind)) = (code, name, city, boarding, alighting, kind)
            else {
                continue;
            };
            out.push(Station {
                seq: i as u32 + 1,
                station_code: code,
                station_name: name,
                city_code: city.code.clone(),
                city_name: city.name.clone(),
                station_address: address,
                station_type: kind,
                longitude,
                latitude,
                geofence,
                station_feature: feature,
                boarding,
                alighting,
                offset_minutes: offset.unwrap_or(0),
            });
        }
        if self.problems.len() > before {
            return None;
        }
        let first_boarding = out.iter().position(|s| s.boarding);
        let last_alighting = out.iter().rposition(|s| s.alighting);
        match (first_boarding, last_alighting) {
            (Some(b), Some(a)) if b < a => {}
            _ => self.problem(path, "a line needs a boarding station before an alighting station"),
        }
        (self.problems.len() == before).then_some(out)
    }

    pub(super) fn geofence(&mut self, items: &[Node], path: &str) -> Vec<GeoPoint> {
        let before = self.problems.len();
        let mut out = Vec::new();
        for (i, n) in items.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let Some(o) = self.object(n, &p, &["longitude", "latitude"]) else { continue };
            let lng = self.coordinate(&o, "longitude", true, false);
            let lat = self.coordinate(&o, "latitude", true, true);
            if let (Some(lng), Some(lat)) = (lng, lat) {
                out.push(GeoPoint::new(lng, lat));
            }
        }
        if self.problems.len() == before {
            for message in geo::geofence_problems(&out) {
                self.problem(path, message);
            }
        }
        out
    }

    pub(super) fn segment_prices(&mut self, items: &[Node], path: &str, stations: &[Station]) -> Option<Vec<SegmentPrice>> {
        let before = self.problems.len();
        if items.is_empty() {
            self.problem(path, "at least one segment price is required");
        }
        let mut out: Vec<SegmentPrice> = Vec::new();
        let index = |code: &str| stations.iter().position(|s| s.station_code == code);
        for (i, n) in items.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let Some(o) = self.object(n, &p, &["fromStationCode", "toStationCode", "price", "childPrice"]) else { continue };
            let from = self.id(&o, "fromStationCode", true);
            let to = self.id(&o, "toStationCode", true);
            let price = self.uint(&o, "price", true, 0, MAX_FEN);
            let child_price = self.uint(&o, "childPrice", false, 0, MAX_FEN);
            let (Some(from), Some(to), Some(price)) = (from, to, price) else { continue };
            let fi = index(&from);
            let ti = index(&to);
            match fi {
                None => self.problem(o.path("fromStationCode"), format!("{from} is not a station of this line")),
                Some(f) if !stations[f].boarding => self.problem(o.path("fromStationCode"), format!("{from} is not a boarding station")),
                _ => {}
            }
            match ti {
                None => self.problem(o.path("toStationCode"), format!("{to} is not a station of this line")),
                Some(t) if !stations[t].alighting => self.problem(o.path("toStationCode"), format!("{to} is not an alighting station")),
                _ => {}
            }
            if let (Some(f), Some(t)) = (fi, ti) {
                if t <= f {
                    self.problem(&p, format!("{to} must come after {from} on the line"));
                }
            }
            if out.iter().any(|x| x.from_station_code == from && x.to_station_code == to) {
                self.problem(&p, format!("{from}→{to} already has a price"));
            }
            out.push(SegmentPrice { from_station_code: from, to_station_code: to, price: price as i64, child_price: child_price.map(|c| c as i64) });
        }
        if self.problems.len() > before {
            return None;
        }
        // The default segment (first boarding → last alighting) must be sold, and every
        // boarding / alighting station must take part in a sold segment.
        if let (Some(b), Some(a)) = (stations.iter().find(|s| s.boarding), stations.iter().rev().find(|s| s.alighting)) {
            if !out.iter().any(|x| x.from_station_code == b.station_code && x.to_station_code == a.station_code) {
                self.problem(
                    path,
                    format!("the default segment {}→{} (first boarding to last alighting station) needs a price", b.station_code, a.station_code),
                );
            }
        }
        for (i, s) in stations.iter().enumerate() {
            if s.boarding && !out.iter().any(|x| x.from_station_code == s.station_code) && i + 1 < stations.len() {
                self.problem(path, format!("boarding station {} has no segment price starting there", s.station_code));
            }
            if s.alighting && !out.iter().any(|x| x.to_station_code == s.station_code) && i > 0 {
                self.problem(path, format!("alighting station {} has no segment price ending there", s.station_code));
            }
        }
        (self.problems.len() == before).then_some(out)
    }

    pub(super) fn transfer_points(&mut self, items: &[Node], path: &str) -> Option<Vec<TransferPoint>> {
        let before = self.problems.len();
        let mut out = Vec::new();
        for (i, n) in items.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let Some(o) = self.object(n, &p, &["name", "address", "longitude", "latitude", "desc"]) else { continue };
            let name = self.string(&o, "name", true, MAX_NAME);
            let address = self.string(&o, "address", false, MAX_TEXT);
            let longitude = self.coordinate(&o, "longitude", false, false);
            let latitude = self.coordinate(&o, "latitude", false, true);
            if o.get("longitude").is_some() != o.get("latitude").is_some() {
                self.problem(&p, "give both longitude and latitude, or neither");
            }
            let desc = self.string(&o, "desc", false, MAX_TEXT);
            if let Some(name) = name {
                out.push(TransferPoint { name, address, longitude, latitude, desc });
            }
        }
        (self.problems.len() == before).then_some(out)
    }
}
