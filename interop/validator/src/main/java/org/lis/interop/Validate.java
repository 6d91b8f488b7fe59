package org.lis.interop;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Validates every file of the folders given: {@code *.json} as FHIR R4 resources with the HAPI
 * FHIR instance validator, {@code *.hl7} as HL7 v2.5.1 messages with HAPI HL7v2. One JSON line
 * per file on stdout, then a summary line. With {@code --serve}, reads one folder per line from
 * stdin and answers each the same way, so a test session starts the JVM (and loads the R4
 * structures) once.
 */
public final class Validate {
  private FhirCheck fhir;
  private Hl7Check hl7;

  private Validate() {}

  public static void main(String[] args) throws IOException {
    Validate validate = new Validate();
    if (args.length == 1 && args[0].equals("--serve")) {
      BufferedReader in =
          new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        if (!line.isBlank()) {
          validate.folders(List.of(line.strip()));
        }
      }
    } else {
      validate.folders(List.of(args));
    }
  }

  private void folders(List<String> folders) throws IOException {
    List<Path> files = new ArrayList<>();
    for (String folder : folders) {
      try (Stream<Path> walk = Files.walk(Path.of(folder))) {
        walk.filter(Files::isRegularFile).sorted().forEach(files::add);
      }
    }
    int errors = 0;
    int checked = 0;
    for (Path file : files) {
      String name = file.getFileName().toString();
      String text = Files.readString(file, StandardCharsets.UTF_8);
      List<Issue> issues;
      String kind;
      if (name.endsWith(".json")) {
        kind = "fhir";
      } else if (name.endsWith(".hl7")) {
        kind = "hl7";
      } else {
        continue;
      }
      try {
        if (kind.equals("fhir")) {
          fhir = fhir == null ? new FhirCheck() : fhir;
          issues = fhir.check(text);
        } else {
          hl7 = hl7 == null ? new Hl7Check() : hl7;
          issues = hl7.check(text);
        }
      } catch (RuntimeException e) {
        issues = List.of(new Issue("fatal", "validator", e.toString()));
      }
      checked++;
      long fileErrors = issues.stream().filter(Issue::isError).count();
      errors += (int) fileErrors;
      System.out.println(Issue.line(file.toString(), kind, fileErrors, issues));
    }
    System.out.println("{\"summary\":true,\"files\":" + checked + ",\"errors\":" + errors + "}");
    System.out.flush();
  }
}
