// Any address no other route claims: the root error boundary renders the 404 page.
export function loader() {
  throw new Response("There is no page at this address.", { status: 404, statusText: "Not Found" });
}

export function action() {
  throw new Response("There is no page at this address.", { status: 404, statusText: "Not Found" });
}

export default function NotFound() {
  return null;
}
