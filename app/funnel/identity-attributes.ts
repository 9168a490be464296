// Event attributes are free-form, so they are the one place a raw identity could slip into the funnel. Names that
// carry who the customer is (an id, a contact detail, a name, an address, a government or account number) are
// refused by name: the customer is known here only by customer_hash.

const EXACT = new Set([
  "id", "customer", "customerid", "custid", "user", "userid", "clientuserid", "sourcecustomerid", "externalid", "memberid", "accountholder",
  "email", "emailaddress", "mail", "phone", "phonenumber", "mobile", "mobilenumber", "telephone", "tel", "msisdn",
  "name", "firstname", "lastname", "fullname", "givenname", "surname", "familyname", "middlename", "username", "login",
  "address", "streetaddress", "street", "addressline1", "addressline2", "postalcode", "postcode", "zip", "zipcode",
  "ssn", "socialsecuritynumber", "sin", "nationalid", "taxid", "tin", "itin", "passport", "passportnumber", "driverslicense", "licensenumber",
  "dob", "dateofbirth", "birthdate", "birthday",
  "accountnumber", "routingnumber", "iban", "cardnumber", "pan", "ip", "ipaddress",
]);

// Any name that ends like one of these names a person's identity whatever it starts with ("billing_email",
// "primary_phone", "cardlytics_customer_id").
const SUFFIXES = ["customerid", "userid", "email", "emailaddress", "phone", "phonenumber", "ssn", "dateofbirth", "firstname", "lastname", "fullname", "customername", "username", "holdername", "streetaddress", "ipaddress", "accountnumber", "cardnumber"];

/** True when an attribute name carries a customer's identity; compared without case or underscores. */
export function isIdentityAttribute(name: string): boolean {
  const n = name.toLowerCase().replaceAll("_", "");
  return EXACT.has(n) || SUFFIXES.some((s) => n.endsWith(s));
}

export const IDENTITY_ATTRIBUTE_MESSAGE =
  "names a customer's identity (an id, email, phone, name, address or the like); send only customer_hash, never identity in attributes";
