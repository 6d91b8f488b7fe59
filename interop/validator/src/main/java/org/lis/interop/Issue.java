package org.lis.interop;

import java.util.List;

/** One finding of a validator, and the JSON line a file's findings are printed as. */
record Issue(String severity, String location, String message) {
  boolean isError() {
    return severity.equals("error") || severity.equals("fatal");
  }

  static String line(String file, String kind, long errors, List<Issue> issues) {
    StringBuilder out = new StringBuilder("{\"file\":").append(quote(file));
    out.append(",\"kind\":").append(quote(kind)).append(",\"errors\":").append(errors);
    out.append(",\"issues\":[");
    for (int i = 0; i < issues.size(); i++) {
      Issue issue = issues.get(i);
      out.append(i == 0 ? "" : ",").append("{\"severity\":").append(quote(issue.severity()));
      out.append(",\"location\":").append(quote(issue.location()));
      out.append(",\"message\":").append(quote(issue.message())).append('}');
    }
    return out.append("]}").toString();
  }

  static String quote(String value) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : (value == null ? "" : value).toCharArray()) {
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.append('"').toString();
  }
}
