//! Records the git revision the binary is built from, for the provenance of its reports.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn main() {
    let revision = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(revision) => {
            let changed = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|status| !status.is_empty());
            if changed {
                format!("{revision} with uncommitted changes")
            } else {
                revision
            }
        }
        None => "unknown (not built from a git checkout)".to_owned(),
    };
    println!("cargo:rustc-env=INITLAB_REVISION={revision}");
    // A commit moves HEAD's branch and rewrites the index; an edit is seen at the next
    // `git add`. In a worktree `.git` is a file and these paths are absent, so the script
    // runs at every build, which is cheap.
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/index");
    if let Some(branch) = std::fs::read_to_string(".git/HEAD")
        .ok()
        .and_then(|head| head.strip_prefix("ref: ").map(|r| r.trim().to_owned()))
    {
        println!("cargo:rerun-if-changed=.git/{branch}");
    }
}
