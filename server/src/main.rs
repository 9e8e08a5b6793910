//! The `borealis` binary.

fn main() {
    println!("borealis: not yet");
}
