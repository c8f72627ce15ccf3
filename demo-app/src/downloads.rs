//! The sample files behind `/download-list/`, compiled into the binary.

/// One downloadable file.
#[derive(Debug, Clone, Copy)]
pub struct Download {
    /// File name, also the URL segment.
    pub name: &'static str,
    /// Korean and English description.
    pub description: &'static str,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The bytes.
    pub content: &'static [u8],
}

impl Download {
    /// Size in bytes.
    pub fn size(&self) -> usize {
        self.content.len()
    }
}

/// Every file offered.
pub const DOWNLOADS: &[Download] = &[
    Download {
        name: "kakao-login-guide.txt",
        description: "카카오 로그인 빠른 안내 · Kakao Login quick guide",
        content_type: "text/plain; charset=utf-8",
        content: include_bytes!("../downloads/kakao-login-guide.txt"),
    },
    Download {
        name: "sample-report.csv",
        description: "월별 로그인 통계 · Monthly login figures",
        content_type: "text/csv; charset=utf-8",
        content: include_bytes!("../downloads/sample-report.csv"),
    },
    Download {
        name: "release-notes.md",
        description: "릴리스 노트 · Release notes",
        content_type: "text/markdown; charset=utf-8",
        content: include_bytes!("../downloads/release-notes.md"),
    },
];

/// Finds a file by exact name; anything else (including any path trick) is `None`.
pub fn find(name: &str) -> Option<&'static Download> {
    DOWNLOADS.iter().find(|d| d.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_names_are_found() {
        assert!(find("sample-report.csv").is_some());
        for bad in [
            "",
            "..",
            "../Cargo.toml",
            "%2e%2e",
            "sample-report.csv/",
            "SAMPLE-REPORT.CSV",
            "a\\b",
        ] {
            assert!(find(bad).is_none(), "{bad}");
        }
    }
}
