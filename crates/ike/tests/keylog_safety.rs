//! `--keylog DIR` cannot be turned against its owner: symbolic links, files planted or opened
//! up by another user, and directories others can write are refused (issue: a local user who
//! can write DIR must not redirect the keys or read them).

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::PathBuf;

use ike::keylog::KeyLog;

fn fresh(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ike-keylog-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn refused(dir: &std::path::Path, want: &str) {
    let Err(e) = KeyLog::open(dir) else {
        panic!("{}: not refused", dir.display())
    };
    let e = e.to_string();
    assert!(e.contains(want), "{e}");
    assert!(e.contains("refusing to write keys there"), "{e}");
}

#[test]
fn a_fresh_directory_gets_0700_and_0600_files() {
    let d = fresh("fresh");
    KeyLog::open(&d).unwrap();
    assert_eq!(std::fs::metadata(&d).unwrap().mode() & 0o777, 0o700);
    for f in [
        "ikev2_decryption_table",
        "ikev1_decryption_table",
        "esp_sa",
        "preferences",
    ] {
        assert_eq!(
            std::fs::metadata(d.join(f)).unwrap().mode() & 0o777,
            0o600,
            "{f}"
        );
    }
    // Opening again (a restart) appends to our own files.
    KeyLog::open(&d).unwrap();
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_symbolic_link_in_the_directory_is_refused() {
    let d = fresh("symlink");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
    let target = d.with_extension("target");
    let _ = std::fs::remove_file(&target);
    std::os::unix::fs::symlink(&target, d.join("esp_sa")).unwrap();
    refused(&d, "a symbolic link");
    assert!(!target.exists(), "the link was followed");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_pre_created_world_readable_file_is_refused() {
    let d = fresh("mode");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
    let f = d.join("ikev2_decryption_table");
    std::fs::write(&f, b"").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o666)).unwrap();
    refused(&d, "mode 0666 lets others read or write it");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_directory_others_can_write_or_a_linked_directory_is_refused() {
    let d = fresh("dirmode");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
    refused(&d, "lets others create files in it");
    let link = d.with_extension("link");
    let _ = std::fs::remove_file(&link);
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&d, &link).unwrap();
    refused(&link, "not a directory");
    std::fs::remove_file(&link).unwrap();
    std::fs::remove_dir_all(&d).unwrap();
}

/// A file another user owns (made with chown, so this needs root).
#[test]
fn a_file_of_another_owner_is_refused() {
    let root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
    if !root {
        assert!(
            std::env::var_os("IKE_REQUIRE_ROOT").is_none(),
            "root is required (IKE_REQUIRE_ROOT is set)"
        );
        eprintln!("SKIPPED: not root, cannot chown a file to another user");
        return;
    }
    let d = fresh("owner");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
    let f = d.join("esp_sa");
    std::fs::write(&f, b"").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::chown(&f, Some(65534), Some(65534)).unwrap();
    refused(&d, "owned by uid 65534, not by us");
    std::fs::remove_dir_all(&d).unwrap();
}
