// "Use my position" on /near: progressive enhancement. Without this script (or without
// geolocation) the form searches by the town typed; with it, a button asks the browser for its
// position, puts it in the form as lat/lon, and submits. Nothing leaves the page but the form.
(function () {
  "use strict";
  var form = document.getElementById("near-form");
  if (!form || !("geolocation" in navigator)) {
    return;
  }
  var status = document.createElement("p");
  status.className = "muted";
  status.setAttribute("role", "status");
  var button = document.createElement("button");
  button.type = "button";
  button.className = "secondary";
  button.textContent = form.dataset.positionLabel;

  function field(name) {
    var input = form.querySelector('input[type="hidden"][name="' + name + '"]');
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      form.appendChild(input);
    }
    return input;
  }

  button.addEventListener("click", function () {
    button.disabled = true;
    status.textContent = form.dataset.positionWait;
    navigator.geolocation.getCurrentPosition(
      function (position) {
        // Rounded to about 100 m: enough to find what is near, less to give away.
        field("lat").value = position.coords.latitude.toFixed(3);
        field("lon").value = position.coords.longitude.toFixed(3);
        // A typed place would win over the position: the position was asked for.
        form.elements.place.value = "";
        var at = form.querySelector('input[name="at"]');
        if (at) {
          at.remove();
        }
        form.submit();
      },
      function () {
        button.disabled = false;
        status.textContent = form.dataset.positionFailed;
      },
      { timeout: 20000, maximumAge: 600000 }
    );
  });
  var submit = form.querySelector('button[type="submit"]');
  form.insertBefore(button, submit);
  form.insertBefore(status, submit);
})();
