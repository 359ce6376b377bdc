package org.headscope.app.cli;

/** Bad command-line usage; exit code 2 with the message and the command's usage. */
public final class UsageException extends RuntimeException {
    public UsageException(String message) {
        super(message);
    }
}
