#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| busgate_fuzz::cases_parse_inbound(data));
