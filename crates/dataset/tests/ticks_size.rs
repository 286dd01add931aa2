//! Bytes per event on disk for realistic synthetic data (see `benches/common/synth.rs`).
//! A size bound, not a timing: the encodings chosen in `writer_properties` must keep
//! checkpoint files at or under 20 bytes per event.

#[path = "../benches/common/synth.rs"]
mod synth;

use dataset::{list_files, read_dataset, DatasetWriter, TickBuffer};

#[test]
fn checkpoint_files_stay_under_20_bytes_per_event() {
    let mut synth = synth::Synth::new(1500, 1_704_067_200_000, 7);
    let names = synth.names();
    let dir = tempfile::tempdir().unwrap();
    let mut writer = DatasetWriter::new(dir.path());
    let mut buf = TickBuffer::new();
    let mut events = 0;
    // Five one-minute checkpoints of ~45k events each, as the recorder writes them.
    for minute in 0..5 {
        let batch = synth.events(45_000);
        synth::push_all(&mut buf, &names, &batch);
        events += buf.len();
        let now = chrono::DateTime::from_timestamp(1_704_067_260 + minute * 60, 0).unwrap();
        writer.write_checkpoint(&buf, now).unwrap();
        buf.clear();
    }
    let bytes: u64 = list_files(dir.path())
        .unwrap()
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    let rows: usize = read_dataset(dir.path())
        .unwrap()
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(rows, events);
    let per_event = bytes as f64 / events as f64;
    println!("{bytes} bytes for {events} events: {per_event:.2} bytes/event");
    assert!(per_event <= 20.0, "{per_event:.2} bytes/event");
}
