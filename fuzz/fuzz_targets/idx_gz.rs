//! The `idx_gz` fuzz target: see `initlab_fuzz::Target::IdxGz`.
#![no_main]

#[global_allocator]
static ALLOC: initlab_fuzz::Counting = initlab_fuzz::Counting;

libfuzzer_sys::fuzz_target!(|data: &[u8]| initlab_fuzz::Target::IdxGz.run(data));
