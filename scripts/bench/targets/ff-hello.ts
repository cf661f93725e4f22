import * as ff from '@google-cloud/functions-framework';

// The Functions Framework's own floor: an HTTP function answering a fixed /predict-shaped JSON
// (express has already parsed the body). Started with the framework's CLI like the serve entry.
const answer = {
  predictions: [{ probability: 0.8698915243148804, label: 1 }],
  model: 'bench-small',
  version: 1,
  ids: ['00000000-0000-4000-8000-000000000000'],
};

ff.http('serve', (_request, response) => {
  response.json(answer);
});
