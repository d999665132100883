fn main() -> std::process::ExitCode {
    mcp_auth_harness::cli::main()
}
