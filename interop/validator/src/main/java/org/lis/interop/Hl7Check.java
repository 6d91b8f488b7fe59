package org.lis.interop;

import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.HL7Exception;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.model.GenericSegment;
import ca.uhn.hl7v2.model.Group;
import ca.uhn.hl7v2.model.Message;
import ca.uhn.hl7v2.model.Segment;
import ca.uhn.hl7v2.model.Structure;
import ca.uhn.hl7v2.model.Type;
import ca.uhn.hl7v2.parser.PipeParser;
import ca.uhn.hl7v2.validation.impl.ValidationContextFactory;
import java.util.ArrayList;
import java.util.List;

/**
 * HAPI HL7v2, independent of the Python side: parses with the v2.5.1 model classes and HAPI's
 * default validation rules (primitive types: TS/DTM, NM, SI, ID lengths...), then checks the
 * parsed message against HAPI's structure definitions: every segment in a position its message
 * structure allows (no non-standard segments), required segments and fields present, no field
 * repeated more often than allowed.
 */
final class Hl7Check {
  private final PipeParser greedy = parser(false);
  private final PipeParser nonGreedy = parser(true);

  private static PipeParser parser(boolean nonGreedy) {
    HapiContext context = new DefaultHapiContext();
    context.setValidationContext(ValidationContextFactory.defaultValidation());
    context.getParserConfiguration().setNonGreedyMode(nonGreedy);
    return context.getPipeParser();
  }

  /**
   * Some v2.5.1 structures are ambiguous: in OML_O21 an ORC after an OBR may start the next
   * ORDER or a PRIOR_RESULT. HAPI's default (greedy) parse takes the nested prior result, its
   * non-greedy parse the parent's next repetition (which is how senders mean it). A message is
   * valid if one of the two readings is; the findings of the better reading are reported.
   */
  List<Issue> check(String er7) {
    List<Issue> first = check(er7, greedy);
    if (first.stream().noneMatch(Issue::isError)) {
      return first;
    }
    List<Issue> second;
    try {
      second = check(er7, nonGreedy);
    } catch (RuntimeException e) {
      return first; // HAPI's non-greedy iterator fails on some structures (no PID in ORU_R01)
    }
    long errorsFirst = first.stream().filter(Issue::isError).count();
    return second.stream().filter(Issue::isError).count() < errorsFirst ? second : first;
  }

  private List<Issue> check(String er7, PipeParser parser) {
    List<Issue> issues = new ArrayList<>();
    Message message;
    try {
      message = parser.parse(er7.replace("\n", "\r"));
    } catch (HL7Exception e) {
      issues.add(new Issue("error", "parse", e.getMessage()));
      return issues;
    }
    if (!"2.5.1".equals(message.getVersion())) {
      issues.add(new Issue("error", "MSH-12", "version " + message.getVersion() + ", not 2.5.1"));
    }
    try {
      walk(message, message.getName(), issues);
    } catch (HL7Exception e) {
      issues.add(new Issue("error", "structure", e.getMessage()));
    }
    return issues;
  }

  private void walk(Group group, String path, List<Issue> issues) throws HL7Exception {
    for (String name : group.getNames()) {
      Structure[] reps = group.getAll(name);
      if (reps.length == 0 || reps.length == 1 && reps[0].isEmpty()) {
        // a choice (ORM_O01 ORDER_DETAIL: OBR | RQD | RXO ...) needs one of its elements
        if (group.isRequired(name) && !group.isChoiceElement(name)) {
          issues.add(new Issue("error", path + "/" + name, "required " + name + " missing"));
        }
        continue;
      }
      if (!group.isRepeating(name) && reps.length > 1) {
        issues.add(new Issue("error", path + "/" + name, name + " may not repeat"));
      }
      for (Structure rep : reps) {
        if (rep instanceof GenericSegment) {
          issues.add(new Issue("error", path + "/" + name, "segment not allowed here"));
        } else if (rep instanceof Segment segment) {
          if (!rep.isEmpty()) {
            fields(segment, path + "/" + name, issues);
          }
        } else if (rep instanceof Group child && !rep.isEmpty()) {
          walk(child, path + "/" + name, issues);
        }
      }
    }
  }

  private void fields(Segment segment, String path, List<Issue> issues) throws HL7Exception {
    for (int i = 1; i <= segment.numFields(); i++) {
      Type[] reps = segment.getField(i);
      String where = path + "-" + i;
      boolean empty = reps.length == 0 || reps.length == 1 && reps[0].isEmpty();
      if (empty && segment.isRequired(i)) {
        issues.add(new Issue("error", where, "required field missing"));
      }
      int max = segment.getMaxCardinality(i);
      if (max > 0 && reps.length > max) {
        issues.add(new Issue("error", where, reps.length + " repetitions, at most " + max));
      }
      // MSH-1/MSH-2 are the delimiters themselves: HAPI encodes them with the separators
      int length = segment.getName().equals("MSH") && i <= 2 ? 0 : segment.getLength(i);
      for (Type rep : reps) {
        String encoded = rep.encode();
        if (length > 0 && encoded.length() > length) {
          issues.add(
              new Issue(
                  "warning", where, "length " + encoded.length() + " over the 2.5.1 " + length));
        }
      }
    }
  }
}
