package org.lis.interop;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.SingleValidationMessage;
import ca.uhn.fhir.validation.ValidationResult;
import java.util.ArrayList;
import java.util.List;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.UnknownCodeSystemWarningValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;

/**
 * The HAPI FHIR instance validator with the R4 core structures and value sets: structure,
 * cardinality, invariants (FHIRPath), bundle references, bindings to the core value sets, UCUM
 * units (CommonCodeSystemsTerminologyService). External code systems the core does not carry
 * (LOINC) cannot be checked offline: the validator says so as a warning, not an error.
 */
final class FhirCheck {
  private final FhirValidator validator;

  FhirCheck() {
    FhirContext ctx = FhirContext.forR4();
    UnknownCodeSystemWarningValidationSupport unknown =
        new UnknownCodeSystemWarningValidationSupport(ctx);
    unknown.setNonExistentCodeSystemSeverity(
        ca.uhn.fhir.context.support.IValidationSupport.IssueSeverity.WARNING);
    ValidationSupportChain chain =
        new ValidationSupportChain(
            new DefaultProfileValidationSupport(ctx),
            new CommonCodeSystemsTerminologyService(ctx),
            new InMemoryTerminologyServerValidationSupport(ctx),
            new SnapshotGeneratingValidationSupport(ctx),
            unknown);
    FhirInstanceValidator module = new FhirInstanceValidator(chain);
    validator = ctx.newValidator();
    validator.registerValidatorModule(module);
  }

  List<Issue> check(String json) {
    ValidationResult result = validator.validateWithResult(json);
    List<Issue> issues = new ArrayList<>();
    for (SingleValidationMessage m : result.getMessages()) {
      issues.add(
          new Issue(
              m.getSeverity().getCode(), m.getLocationString(), m.getMessage()));
    }
    return issues;
  }
}
