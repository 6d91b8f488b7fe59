package org.lis.interop;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Validates every file of the folders given: {@code *.json} as FHIR R4 resources with the HAPI
 * FHIR instance validator, {@code *.hl7} as HL7 v2.5.1 messages with HAPI HL7v2. One JVM start
 * for a whole batch; one JSON line per file on stdout, then a summary line.
 */
public final class Validate {
  private Validate() {}

  public static void main(String[] args) throws IOException {
    List<Path> files = new ArrayList<>();
    for (String arg : args) {
      try (Stream<Path> walk = Files.walk(Path.of(arg))) {
        walk.filter(Files::isRegularFile).sorted().forEach(files::add);
      }
    }
    FhirCheck fhir = null;
    Hl7Check hl7 = null;
    int errors = 0;
    int checked = 0;
    for (Path file : files) {
      String name = file.getFileName().toString();
      String text = Files.readString(file, StandardCharsets.UTF_8);
      List<Issue> issues;
      String kind;
      if (name.endsWith(".json")) {
        fhir = fhir == null ? new FhirCheck() : fhir;
        issues = fhir.check(text);
        kind = "fhir";
      } else if (name.endsWith(".hl7")) {
        hl7 = hl7 == null ? new Hl7Check() : hl7;
        issues = hl7.check(text);
        kind = "hl7";
      } else {
        continue;
      }
      checked++;
      long fileErrors = issues.stream().filter(Issue::isError).count();
      errors += (int) fileErrors;
      System.out.println(Issue.line(file.toString(), kind, fileErrors, issues));
    }
    System.out.println("{\"summary\":true,\"files\":" + checked + ",\"errors\":" + errors + "}");
  }
}
