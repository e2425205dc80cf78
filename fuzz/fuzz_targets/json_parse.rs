#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| busgate_fuzz::json_parse(data));
