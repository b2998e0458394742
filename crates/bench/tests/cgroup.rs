//! The memory a process's own cgroups leave it, read as `/proc/self/cgroup` names them:
//! v1 (Slurm's nested `slurm/uid_0/job_7`), v2 (a systemd scope inside a tighter slice)
//! and a hybrid system, from fixture trees under `tests/fixtures/cgroup`.

use std::path::{Path, PathBuf};

use initlab_bench::memory::cgroup_headroom;

fn fixture(name: &str) -> (PathBuf, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cgroup")
        .join(name);
    let own = std::fs::read_to_string(root.join("self_cgroup")).unwrap();
    (root, own)
}

#[test]
fn a_nested_v1_memory_cgroup_sets_the_headroom() {
    // job_7: 4 GiB limit, 1 GiB used; its ancestors are unlimited.
    let (root, own) = fixture("v1");
    assert_eq!(
        cgroup_headroom(&root, &own),
        Some(4_294_967_296 - 1_073_741_824)
    );
}

#[test]
fn a_v2_parent_tighter_than_its_child_sets_the_headroom() {
    // job.scope leaves 768 MiB, but system.slice only 512 MiB; the root says "max".
    let (root, own) = fixture("v2");
    assert_eq!(
        cgroup_headroom(&root, &own),
        Some(2_147_483_648 - 1_610_612_736)
    );
}

#[test]
fn a_hybrid_system_reads_the_v1_memory_controller() {
    let (root, own) = fixture("hybrid");
    assert_eq!(cgroup_headroom(&root, &own), Some(600_000_000));
}

#[test]
fn no_limit_on_the_way_is_no_headroom() {
    let (root, _) = fixture("v2");
    // The root cgroup alone, whose memory.max is "max"; and a process in none.
    assert_eq!(cgroup_headroom(&root, "0::/\n"), None);
    assert_eq!(cgroup_headroom(&root, ""), None);
    let (root, _) = fixture("v1");
    assert_eq!(cgroup_headroom(&root, "3:cpuset:/\n"), None);
}
